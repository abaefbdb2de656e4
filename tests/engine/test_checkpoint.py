"""Checkpoint writing and strict loading."""

import random

import numpy as np
import pytest
import torch
from torch import nn

from dypose.engine import checkpoint as ckpt


def _net_a():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))


def _net_b():
    # Same first and third layers; no BatchNorm; an extra layer; a 3x3 last conv.
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3), nn.Linear(2, 2))


def test_bare_and_training_checkpoints_load_with_or_without_module_prefix(tmp_path):
    source = _net_a()
    state = source.state_dict()
    paths = {
        "bare": tmp_path / "bare.pth",
        "prefixed": tmp_path / "prefixed.pth",
        "training": tmp_path / "training.pth",
    }
    torch.save(state, paths["bare"])
    torch.save({"module." + k: v for k, v in state.items()}, paths["prefixed"])
    torch.save({"epoch": 3, "model": state}, paths["training"])
    for path in paths.values():
        target = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Conv2d(4, 2, 1))
        ckpt.load_model_weights(target, str(path))
        for key, value in state.items():
            assert torch.equal(target.state_dict()[key], value), key


def test_other_architecture_names_missing_and_unexpected_keys(tmp_path):
    path = tmp_path / "other.pth"
    torch.save(_net_b().state_dict(), path)
    target = _net_a()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    expected = (
        r"missing keys \(5\): 1\.bias, 1\.num_batches_tracked, 1\.running_mean, "
        r"1\.running_var, 1\.weight; unexpected keys \(2\): 3\.bias, 3\.weight; "
        r"shape mismatches \(1\): 2\.weight \(checkpoint \(2, 4, 3, 3\), model \(2, 4, 1, 1\)\)"
    )
    with pytest.raises(ckpt.CheckpointError, match=expected):
        ckpt.load_model_weights(target, str(path))
    # Never a partial load: nothing changed.
    for key, value in target.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_corrupt_file_gives_clear_error(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ckpt.CheckpointError, match="broken.pth: not a readable checkpoint"):
        ckpt.load_model_weights(_net_a(), str(path))
    with pytest.raises(ckpt.CheckpointError, match="checkpoint not found"):
        ckpt.load_model_weights(_net_a(), str(tmp_path / "absent.pth"))


def test_resume_rejects_bare_state_dict(tmp_path):
    path = tmp_path / "model_best.pth"
    torch.save(_net_a().state_dict(), path)
    with pytest.raises(ckpt.CheckpointError, match="not a training checkpoint .missing epoch"):
        ckpt.load_checkpoint(str(path))


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    ckpt.save_checkpoint({"epoch": 1}, str(tmp_path))

    def broken_save(obj, path):
        with open(path, "wb") as f:
            f.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        ckpt.save_checkpoint({"epoch": 2}, str(tmp_path))
    monkeypatch.undo()
    assert ckpt.read_file(str(tmp_path / ckpt.CHECKPOINT_NAME)) == {"epoch": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [ckpt.CHECKPOINT_NAME]


def test_rng_state_round_trip():
    state = ckpt.get_rng_state()
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    ckpt.set_rng_state(state)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected
