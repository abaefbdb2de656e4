"""Distributed data parallel helpers for runs started by `torchrun`.

torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT; without them
DyPose runs as a single process. Backend: NCCL on CUDA, gloo on the CPU.
"""

import dataclasses
import logging
import os
from typing import Dict, List, Optional

import numpy as np
import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)

# Key of the per-record dataset index in prediction dicts; used to drop the records
# DistributedSampler repeats to give every rank the same count.
INDEX_KEY = "indices"


@dataclasses.dataclass
class DistContext:
    """Where this process runs: rank, world size and its torch device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = dataclasses.field(default_factory=lambda: torch.device("cpu"))

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def select_device(choice: str, local_rank: int = 0) -> torch.device:
    """The torch device for cfg.DEVICE ("auto", "cpu" or "cuda")."""
    if choice == "cuda" and not torch.cuda.is_available():
        raise ValueError("DEVICE = 'cuda' but no CUDA device is available; set DEVICE cpu or auto")
    if choice == "cpu" or (choice == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def env_world_size() -> int:
    """WORLD_SIZE from torchrun's environment (1 when absent)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def init_distributed(device_choice: str = "auto") -> DistContext:
    """Joins the process group described by torchrun's environment variables.

    Args:
        device_choice: cfg.DEVICE.

    Returns:
        The context; a single-process one when WORLD_SIZE is absent or 1.
    """
    world_size = env_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(device_choice, local_rank)
    if world_size <= 1:
        return DistContext(device=device)

    rank = int(os.environ["RANK"])
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    logger.info("rank %d of %d on %s", rank, world_size, device)
    return DistContext(rank, world_size, local_rank, device)


def cleanup_distributed() -> None:
    """Leaves the process group if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    """Waits for every rank (no-op for a single process)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def broadcast_buffers(model: torch.nn.Module, src: int = 0) -> None:
    """Copies rank `src`'s buffers (BatchNorm running statistics) to every rank.

    DDP keeps parameters in step but each rank's last forward updates its own running
    statistics; evaluation and the saved model must use one set.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    for buffer in model.buffers():
        dist.broadcast(buffer.data, src=src)


def all_gather_objects(obj) -> List:
    """Gathers one picklable object from every rank (a one-element list when alone)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    gathered = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def merge_predictions(parts: List[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
    """Concatenates per-rank prediction dicts, keeping each dataset index once.

    DistributedSampler pads the last ranks with repeated records; those repeats have
    the same INDEX_KEY and are dropped here, and the result is sorted by index.

    Args:
        parts: dicts of equal keys, each array's first axis over records.

    Returns:
        One dict whose INDEX_KEY is strictly increasing.
    """
    merged = {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}
    _, first = np.unique(merged[INDEX_KEY], return_index=True)
    return {k: v[first] for k, v in merged.items()}


def gather_predictions(preds: Dict[str, np.ndarray]) -> Optional[Dict[str, np.ndarray]]:
    """All ranks' predictions merged (on every rank); the input itself when alone."""
    if not (dist.is_available() and dist.is_initialized()):
        return preds
    return merge_predictions(all_gather_objects(preds))
