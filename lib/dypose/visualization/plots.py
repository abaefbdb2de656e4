"""Training curves from a run's metrics.jsonl (written by dypose.engine)."""

import json
import logging
import os
from typing import Dict, List

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dypose.utils.io import atomic_path

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"
# Stats drawn on the evaluation plot (names from dypose.evaluation).
AP_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR")
# Figure size in inches and resolution; 6.4 x 4 at 120 dpi is 768 x 480 pixels.
FIGSIZE = (6.4, 4.0)
DPI = 120


class MetricsFileError(ValueError):
    """A metrics file that cannot be read or holds nothing to plot."""


def read_metrics(path: str) -> List[dict]:
    """Reads metrics.jsonl (a file, or a run folder holding one); one dict per line.

    Blank lines are skipped; a line that is not JSON raises MetricsFileError naming
    the file and line number (a run killed mid-write leaves at most a partial last
    line, which is skipped with a warning).
    """
    if os.path.isdir(path):
        path = os.path.join(path, METRICS_FILE)
    if not os.path.isfile(path):
        raise MetricsFileError(
            f"metrics file not found: {path}; pass a run folder or its {METRICS_FILE}"
        )
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as err:
            if number == len(lines):
                logger.warning("%s: skipping a partial last line %d", path, number)
                continue
            raise MetricsFileError(f"{path}: line {number} is not JSON ({err})") from err
    return records


def _series(records: List[dict], kind: str, x_key: str, y_key: str):
    xs, ys = [], []
    for rec in records:
        if rec.get("type") == kind and rec.get(y_key) is not None and rec.get(x_key) is not None:
            xs.append(rec[x_key])
            ys.append(rec[y_key])
    return xs, ys


def _save(fig: Figure, path: str) -> None:
    FigureCanvasAgg(fig)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)


def _line_plot(path: str, series: Dict[str, tuple], xlabel: str, ylabel: str, log_y=False):
    fig = Figure(figsize=FIGSIZE)
    ax = fig.add_subplot(1, 1, 1)
    for label, (xs, ys) in series.items():
        ax.plot(xs, ys, label=label, marker="o" if len(xs) < 30 else None, markersize=3)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_y:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if len(series) > 1:
        ax.legend()
    _save(fig, path)


def plot_training_curves(metrics_path: str, out_dir: str) -> List[str]:
    """Writes PNG curves of a training run.

    Files (each only when the metrics hold its values): loss.png (training loss per
    global iteration), accuracy.png (training PCK per iteration), ap.png (AP/AR stats
    per evaluated epoch), lr.png (learning rate per iteration, log scale).

    Args:
        metrics_path: metrics.jsonl or the run folder holding it.
        out_dir: folder for the PNGs (created).

    Returns:
        The paths written.

    Raises:
        MetricsFileError: missing or unreadable file, or no train/val records at all.
    """
    records = read_metrics(metrics_path)
    plots = {
        "loss.png": ({"loss": _series(records, "train", "global_iter", "loss")}, "loss"),
        "accuracy.png": ({"accuracy": _series(records, "train", "global_iter", "acc")}, "acc"),
        "lr.png": ({"lr": _series(records, "train", "global_iter", "lr")}, "learning rate"),
    }
    written = []
    for name, (series, ylabel) in plots.items():
        if series[next(iter(series))][0]:
            path = os.path.join(out_dir, name)
            _line_plot(path, series, "iteration", ylabel, log_y=name == "lr.png")
            written.append(path)
    ap_series = {n: _series(records, "val", "epoch", n) for n in AP_NAMES}
    ap_series = {n: s for n, s in ap_series.items() if s[0]}
    if ap_series:
        path = os.path.join(out_dir, "ap.png")
        _line_plot(path, ap_series, "epoch", "COCO keypoint stat")
        written.append(path)
    if not written:
        raise MetricsFileError(f"{metrics_path}: no 'train' or 'val' records to plot")
    logger.info("wrote %s", ", ".join(written))
    return written
