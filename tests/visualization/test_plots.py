"""Training curves from a small metrics.jsonl."""

import json

import matplotlib.image as mpimg
import pytest

from dypose.visualization.plots import MetricsFileError, plot_training_curves, read_metrics


def _write_metrics(path, lines):
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")


def _train(i, loss):
    return {
        "type": "train",
        "epoch": 0,
        "iter": i,
        "global_iter": i,
        "loss": loss,
        "acc": 0.1 * i,
        "lr": 1e-3,
        "batch_time": 0.1,
        "data_time": 0.01,
    }


def test_plots_written_from_run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    val = {"type": "val", "epoch": 0, "AP": 0.1, "AP .5": 0.3, "AR": 0.2}
    _write_metrics(run / "metrics.jsonl", [_train(i, 1.0 / (i + 1)) for i in range(5)] + [val])
    written = plot_training_curves(str(run), str(tmp_path / "plots"))
    names = sorted(p.rsplit("/", 1)[1] for p in written)
    assert names == ["accuracy.png", "ap.png", "loss.png", "lr.png"]
    image = mpimg.imread(written[0])
    assert image.shape[:2] == (480, 768)  # FIGSIZE x DPI


def test_only_available_curves_and_partial_last_line(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text(json.dumps(_train(1, 0.5)) + '\n{"type": "tr', encoding="utf-8")
    assert len(read_metrics(str(path))) == 1
    written = plot_training_curves(str(path), str(tmp_path / "out"))
    assert "ap.png" not in [p.rsplit("/", 1)[1] for p in written]


def test_errors_name_the_file(tmp_path):
    with pytest.raises(MetricsFileError, match="metrics file not found"):
        read_metrics(str(tmp_path))
    bad = tmp_path / "metrics.jsonl"
    bad.write_text("{oops\n" + json.dumps(_train(1, 0.5)) + "\n", encoding="utf-8")
    with pytest.raises(MetricsFileError, match="line 1 is not JSON"):
        read_metrics(str(bad))
    bad.write_text(json.dumps({"type": "other"}) + "\n", encoding="utf-8")
    with pytest.raises(MetricsFileError, match="no 'train' or 'val' records"):
        plot_training_curves(str(bad), str(tmp_path / "o"))


def test_plot_log_tool_defaults_to_run_plots_folder(tmp_path):
    import logging
    import runpy
    from pathlib import Path

    _write_metrics(tmp_path / "metrics.jsonl", [_train(1, 0.5), _train(2, 0.4)])
    tool = Path(__file__).resolve().parents[2] / "tools" / "plot_log.py"
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        code = runpy.run_path(str(tool))["main"]([str(tmp_path / "metrics.jsonl")])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "plots").iterdir()) == [
        "accuracy.png",
        "loss.png",
        "lr.png",
    ]
