"""One rank of the two-process gloo test (started by torchrun from test_trainer_ddp.py).

    python -m torch.distributed.run --nproc_per_node 2 tests/engine/ddp_worker.py CFG OUT

Trains CFG, then saves this rank's final weights to OUT/rank<r>.pth; rank 0 also saves
the dataset indices that reached COCOeval to OUT/evaluated_indices.npy.
"""

import os
import sys

import numpy as np
import torch

import dypose.evaluation
from dypose.config import get_config
from dypose.engine import setup_logging, train


def main() -> None:
    cfg_path, out = sys.argv[1], sys.argv[2]
    rank = int(os.environ["RANK"])
    torch.set_num_threads(1)
    setup_logging(None, rank)
    original = dypose.evaluation.evaluate_predictions
    seen = []

    def recording(preds, *args, **kwargs):
        seen.append(np.array(preds["indices"]))
        return original(preds, *args, **kwargs)

    dypose.evaluation.evaluate_predictions = recording
    result = train(get_config(cfg_path), cfg_path)
    torch.save(result.model.state_dict(), os.path.join(out, f"rank{rank}.pth"))
    if rank == 0:
        np.save(os.path.join(out, "evaluated_indices.npy"), np.stack(seen))


if __name__ == "__main__":
    main()
