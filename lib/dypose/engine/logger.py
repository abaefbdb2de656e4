"""Output folders, console/file logging and the metrics writer (TensorBoard + JSON lines)."""

import json
import logging
import os
import sys
import time
from typing import Any, Dict, Optional

logger = logging.getLogger(__name__)

METRICS_NAME = "metrics.jsonl"
CONFIG_NAME = "config.yaml"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def experiment_name(cfg_path: Optional[str]) -> str:
    """The yaml basename without extension ("default" without a file)."""
    if not cfg_path:
        return "default"
    return os.path.splitext(os.path.basename(cfg_path))[0]


def get_output_dir(cfg, cfg_path: Optional[str]) -> str:
    """OUTPUT_DIR/<DATASET.DATASET>/<yaml basename>: checkpoints, results, metrics."""
    return os.path.join(cfg.OUTPUT_DIR, cfg.DATASET.DATASET, experiment_name(cfg_path))


def get_log_dir(cfg, cfg_path: Optional[str]) -> str:
    """LOG_DIR/<DATASET.DATASET>/<yaml basename>: TensorBoard event files."""
    return os.path.join(cfg.LOG_DIR, cfg.DATASET.DATASET, experiment_name(cfg_path))


def setup_logging(log_file: Optional[str] = None, rank: int = 0) -> None:
    """Configures the root logger once, for tools: console and optional file on rank 0.

    Other ranks log warnings and errors only, so that a multi-process run prints each
    line once. A second call replaces the handlers of the first (and only those).
    """
    root = logging.getLogger()
    remove_logging_handlers()
    root.setLevel(logging.INFO if rank == 0 else logging.WARNING)
    handlers = [logging.StreamHandler(sys.stdout)]
    if log_file and rank == 0:
        os.makedirs(os.path.dirname(os.path.abspath(log_file)), exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.dypose_owned = True
        root.addHandler(handler)


def remove_logging_handlers() -> None:
    """Removes (and closes) the root handlers that `setup_logging` installed."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "dypose_owned", False):
            root.removeHandler(handler)
            handler.close()


def timestamped_log_file(output_dir: str, phase: str) -> str:
    """output_dir/<phase>_<YYYY-mm-dd-HH-MM-SS>.log"""
    return os.path.join(output_dir, f"{phase}_{time.strftime('%Y-%m-%d-%H-%M-%S')}.log")


def _plain(value: Any) -> Any:
    """numpy scalars and tensors as plain Python numbers for json."""
    if hasattr(value, "item"):
        return value.item()
    return value


class MetricsWriter:
    """Writes metrics.jsonl lines and TensorBoard scalars (rank 0 only).

    Args:
        output_dir: folder of metrics.jsonl.
        tb_dir: TensorBoard folder (None: no TensorBoard).
        enabled: False on ranks other than 0 (every call is then a no-op).
        append: keep earlier lines (a resumed run) instead of starting the file afresh.
    """

    def __init__(self, output_dir: str, tb_dir: Optional[str], enabled: bool, append: bool):
        self.enabled = enabled
        self._file = None
        self._tb = None
        if not enabled:
            return
        os.makedirs(output_dir, exist_ok=True)
        self._file = open(os.path.join(output_dir, METRICS_NAME), "a" if append else "w")
        if tb_dir:
            from torch.utils.tensorboard import SummaryWriter  # slow import; only here

            self._tb = SummaryWriter(tb_dir)

    def write(self, record: Dict[str, Any], step: int) -> None:
        """Appends one JSON line and logs its numeric fields to TensorBoard."""
        if not self.enabled:
            return
        record = {k: _plain(v) for k, v in record.items()}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()
        if self._tb is None:
            return
        kind = record.get("type", "metrics")
        for key, value in record.items():
            if isinstance(value, (int, float)) and key not in ("epoch", "iter", "global_iter"):
                self._tb.add_scalar(f"{kind}/{key}", value, step)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None
