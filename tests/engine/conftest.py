"""A tiny synthetic dataset and a tiny model config for the engine tests."""

import os
import runpy
from pathlib import Path

import pytest

from dypose.config import get_config
from dypose.data import load_records
from dypose.data.synthetic import generate_synthetic
from dypose.engine.logger import remove_logging_handlers

ROOT = Path(__file__).resolve().parents[2]
# A network that trains an epoch of the tiny set in about a second on one CPU core.
TINY_MODEL = [
    "MODEL.IMAGE_SIZE", "[32, 32]",
    "MODEL.HEATMAP_SIZE", "[8, 8]",
    "MODEL.BACKBONE.WIDTH", "0.25",
    "MODEL.HEAD.CHANNELS", "[16, 8, 8]",
    "MODEL.HEAD.EXPANSION", "2",
]  # fmt: skip


def _persons(root: Path, image_set: str) -> int:
    return len(load_records(get_config(None, ["DATASET.ROOT", str(root)]), image_set))


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """Six training images of DyPose's synthetic set and three or more validation ones.

    The validation set gets the fewest images (from three) that hold an odd number of
    persons, so that two ranks need DistributedSampler's padding.
    """
    root = tmp_path_factory.mktemp("synthetic")
    for num_val in range(3, 12):
        generate_synthetic(str(root), num_train=6, num_val=num_val, seed=0)
        if _persons(root, "val_synth") % 2 == 1:
            return root
    raise AssertionError("no synthetic validation set of 3-11 images has an odd person count")


@pytest.fixture(scope="session")
def person_counts(synthetic_root) -> dict:
    """Ground-truth persons per image set of the tiny set (the generator decides them)."""
    return {s: _persons(synthetic_root, s) for s in ("train_synth", "val_synth")}


def tiny_opts(root: Path, out: Path, **overrides) -> list:
    """Overrides for a deterministic CPU run of the tiny model on the tiny set."""
    opts = {
        "OUTPUT_DIR": str(out),
        "LOG_DIR": str(out / "log"),
        "DEVICE": "cpu",
        "WORKERS": "0",
        "PRINT_FREQ": "1",
        "DATASET.DATASET": "synthetic",
        "DATASET.ROOT": str(root),
        "DATASET.TRAIN_SET": "train_synth",
        "DATASET.TEST_SET": "val_synth",
        "TRAIN.BATCH_SIZE_PER_GPU": "8",
        "TRAIN.END_EPOCH": "2",
        "TRAIN.LR_STEP": "[1]",
        "TEST.BATCH_SIZE_PER_GPU": "16",
        "TEST.USE_GT_BBOX": "True",
        "TEST.COCO_BBOX_FILE": str(root / "person_detection_results" / "val_synth_detections.json"),
    }
    opts.update({k.replace("__", "."): str(v) for k, v in overrides.items()})
    flat = [item for pair in opts.items() for item in pair]
    return TINY_MODEL + flat


@pytest.fixture
def make_opts(synthetic_root):
    """tiny_opts bound to the session's synthetic set: make_opts(out, KEY__NAME=value)."""
    return lambda out, **overrides: tiny_opts(synthetic_root, Path(out), **overrides)


@pytest.fixture
def make_cfg(make_opts):
    """The frozen config of make_opts."""
    return lambda out, **overrides: get_config(None, make_opts(out, **overrides))


def load_tool(name: str) -> dict:
    """The globals of tools/<name>.py (its main() is then callable in-process)."""
    return runpy.run_path(str(ROOT / "tools" / f"{name}.py"), run_name=f"dypose_tool_{name}")


@pytest.fixture
def tool():
    """load_tool; the logging handlers a tool installs are removed after the test."""
    yield load_tool
    remove_logging_handlers()


@pytest.fixture
def child_env() -> dict:
    """Environment for child Python processes: one thread each, no GPU."""
    env = dict(os.environ)
    env.update({"OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""})
    return env


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def write_cfg(make_cfg):
    """Writes make_cfg(out, ...) to `path` as yaml; returns the path as a string."""

    def write(path: Path, out: Path, **overrides) -> str:
        path.write_text(make_cfg(out, **overrides).dump(), encoding="utf-8")
        return str(path)

    return write
