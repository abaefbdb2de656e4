"""Shared fixtures: the real COCO slice in ../shared (skipped cleanly when absent)."""

import os
from pathlib import Path

import pytest
import torch

# A user's checkout has no ../shared; DYPOSE_COCO_SAMPLE can point elsewhere.
_DEFAULT_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco_sample"


@pytest.fixture(scope="session")
def coco_sample() -> Path:
    """Root of the four-image COCO val2017 slice, laid out like a COCO download."""
    root = Path(os.environ.get("DYPOSE_COCO_SAMPLE", _DEFAULT_SAMPLE))
    if not (root / "annotations" / "person_keypoints_val2017.json").is_file():
        pytest.skip(f"COCO sample not found at {root}")
    return root


@pytest.fixture(autouse=True)
def _one_torch_thread():
    """Tests run torch on one intra-op thread: their tensors are tiny, and on a busy 2-core
    machine the default thread pool spins against other processes (a 10 ms forward can
    take seconds)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
