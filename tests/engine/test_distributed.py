"""Merging per-rank predictions (the multi-process run is in test_trainer_ddp.py)."""

import numpy as np

from dypose.engine.distributed import merge_predictions


def test_padded_duplicates_removed_and_sorted():
    # DistributedSampler(shuffle=False) over 5 records on 2 ranks: rank 0 gets
    # 0, 2, 4 and rank 1 gets 1, 3, 0 (padded with the first record).
    rank0 = {"indices": np.array([0, 2, 4]), "scores": np.array([0.0, 2.0, 4.0])}
    rank1 = {"indices": np.array([1, 3, 0]), "scores": np.array([1.0, 3.0, 0.0])}
    merged = merge_predictions([rank0, rank1])
    np.testing.assert_array_equal(merged["indices"], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(merged["scores"], [0.0, 1.0, 2.0, 3.0, 4.0])
