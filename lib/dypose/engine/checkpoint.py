"""Checkpoints: atomic saving, strict weight loading and training-state resume.

`checkpoint.pth` holds the whole training state (dict with epoch = the next epoch to
run, model, optimizer, scheduler, best_ap, rng, config); `model_best.pth` and
`final_state.pth` hold a bare model state_dict. Every write goes through
`dypose.utils.io.atomic_path`, so a kill mid-write leaves the previous file intact.
"""

import glob
import logging
import os
import random
from typing import Any, Dict, List, Mapping

import numpy as np
import torch
from torch import nn

from dypose.utils.io import atomic_path

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pth"
BEST_NAME = "model_best.pth"
FINAL_NAME = "final_state.pth"
# DistributedDataParallel prefixes every parameter name with this.
DDP_PREFIX = "module."
# Keys a training checkpoint must hold to be resumed.
RESUME_KEYS = ("epoch", "model", "optimizer", "scheduler", "best_ap", "rng")
# Key names listed in a mismatch error before "... and N more".
MAX_LISTED_KEYS = 20


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the model."""


def unwrap_model(model: nn.Module) -> nn.Module:
    """The bare network inside DDP / torch.compile wrappers."""
    while True:
        if hasattr(model, "module") and isinstance(model.module, nn.Module):
            model = model.module
        elif hasattr(model, "_orig_mod"):
            model = model._orig_mod
        else:
            return model


def save_file(obj: Any, path: str) -> None:
    """torch.save to `path` atomically (the old file survives any interruption)."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def read_file(path: str) -> Any:
    """torch.load of a DyPose checkpoint on the CPU, with a clear error when unreadable."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        # weights_only=False: training checkpoints hold numpy RNG states.
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises several classes for corrupt files
        raise CheckpointError(
            f"{path}: not a readable checkpoint ({type(err).__name__}: {err}); "
            "delete it or point to another file"
        ) from err


def _strip_prefix(state: Mapping[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    if state and all(k.startswith(DDP_PREFIX) for k in state):
        return {k[len(DDP_PREFIX) :]: v for k, v in state.items()}
    return dict(state)


def _list_keys(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_LISTED_KEYS])
    more = len(keys) - MAX_LISTED_KEYS
    return shown + (f" ... and {more} more" if more > 0 else "")


def check_state_dict(model: nn.Module, state: Mapping[str, torch.Tensor], path: str) -> None:
    """Raises CheckpointError naming missing, unexpected and mis-shaped keys."""
    expected = unwrap_model(model).state_dict()
    missing = set(expected) - set(state)
    unexpected = set(state) - set(expected)
    shapes = [
        f"{k} (checkpoint {tuple(state[k].shape)}, model {tuple(expected[k].shape)})"
        for k in sorted(set(expected) & set(state))
        if hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if not (missing or unexpected or shapes):
        return
    parts = []
    if missing:
        parts.append(f"missing keys ({len(missing)}): {_list_keys(missing)}")
    if unexpected:
        parts.append(f"unexpected keys ({len(unexpected)}): {_list_keys(unexpected)}")
    if shapes:
        parts.append(f"shape mismatches ({len(shapes)}): {', '.join(shapes[:MAX_LISTED_KEYS])}")
    raise CheckpointError(
        f"{path} does not fit this model (was it trained with another MODEL config?); "
        + "; ".join(parts)
    )


def load_model_weights(model: nn.Module, path: str) -> Dict[str, torch.Tensor]:
    """Loads weights strictly into `model` (DDP or compiled wrappers allowed).

    Args:
        model: the network to fill.
        path: a training checkpoint (dict with "model") or a bare state_dict, with or
            without DDP's "module." prefix.

    Returns:
        The state_dict that was loaded (prefix removed).

    Raises:
        CheckpointError: unreadable file, or any missing, unexpected or mis-shaped key
            (never a partial load).
    """
    obj = read_file(path)
    state = obj["model"] if isinstance(obj, dict) and "model" in obj else obj
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: expected a state_dict, found {type(state).__name__}")
    state = _strip_prefix(state)
    check_state_dict(model, state, path)
    unwrap_model(model).load_state_dict(state, strict=True)
    logger.info("loaded weights from %s", path)
    return state


def get_rng_state() -> Dict[str, Any]:
    """Python, numpy, torch and (when present) CUDA generator states."""
    state = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restores the states saved by `get_rng_state` (CUDA only when device counts match)."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


def remove_stale_temporaries(output_dir: str) -> List[str]:
    """Deletes temporary files a killed checkpoint write left behind; returns their paths.

    `atomic_path` writes `.<name>.<random>.tmp` beside the target; a SIGKILL between
    the write and the rename leaves one (the target itself is intact).
    """
    removed = []
    for name in (CHECKPOINT_NAME, BEST_NAME, FINAL_NAME):
        for path in glob.glob(os.path.join(glob.escape(output_dir), f".{name}.*.tmp")):
            os.remove(path)
            removed.append(path)
    if removed:
        logger.info("removed %d unfinished checkpoint write(s) in %s", len(removed), output_dir)
    return removed


def save_checkpoint(state: Dict[str, Any], output_dir: str) -> str:
    """Writes `checkpoint.pth` (the training state) atomically; returns its path."""
    path = os.path.join(output_dir, CHECKPOINT_NAME)
    save_file(state, path)
    return path


def load_checkpoint(path: str) -> Dict[str, Any]:
    """Reads a training checkpoint and checks that it can be resumed.

    Raises:
        CheckpointError: unreadable, or lacking one of RESUME_KEYS (e.g. a bare
            state_dict such as model_best.pth).
    """
    state = read_file(path)
    missing = [k for k in RESUME_KEYS if not (isinstance(state, dict) and k in state)]
    if missing:
        raise CheckpointError(
            f"{path} is not a training checkpoint (missing {', '.join(missing)}); resume "
            "needs checkpoint.pth, or set AUTO_RESUME False to start afresh"
        )
    return state
