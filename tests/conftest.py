"""Shared fixtures: the real COCO slice in ../shared (skipped cleanly when absent)."""

import os
from pathlib import Path

import pytest

# A user's checkout has no ../shared; DYPOSE_COCO_SAMPLE can point elsewhere.
_DEFAULT_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco_sample"


@pytest.fixture(scope="session")
def coco_sample() -> Path:
    """Root of the four-image COCO val2017 slice, laid out like a COCO download."""
    root = Path(os.environ.get("DYPOSE_COCO_SAMPLE", _DEFAULT_SAMPLE))
    if not (root / "annotations" / "person_keypoints_val2017.json").is_file():
        pytest.skip(f"COCO sample not found at {root}")
    return root
