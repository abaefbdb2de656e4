"""Training end to end on a tiny synthetic set: outputs, logs, schedule, resume, errors."""

import json
import logging
import math

import pytest
import torch
import yaml

from dypose.engine import checkpoint as ckpt
from dypose.engine import train
from dypose.engine.trainer import NonFiniteLossError

METRIC_KEYS = {"type", "epoch", "iter", "global_iter", "loss", "acc", "lr", "batch_time",
               "data_time"}  # fmt: skip
STAT_NAMES = ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)",
              "AR (L)"]  # fmt: skip


DEBUG_ON = dict(DEBUG__DEBUG="True", DEBUG__SAVE_BATCH_IMAGES_GT="True")


def write_yaml(path, cfg) -> str:
    path.write_text(cfg.dump(), encoding="utf-8")
    return str(path)


def read_metrics(output_dir):
    with open(output_dir / "metrics.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def epoch_lrs(records):
    """{epoch: lr} from the train lines (the last line of an epoch wins)."""
    return {r["epoch"]: r["lr"] for r in records if r["type"] == "train"}


def test_train_then_test_smoke(tmp_path, make_cfg, tool, capsys, caplog):
    """Train two epochs with detector boxes and flip test, then tools/test.py the result."""
    caplog.set_level(logging.INFO)
    cfg = make_cfg(tmp_path, TEST__USE_GT_BBOX="False", TRAIN__AMP="True", **DEBUG_ON)
    result = train(cfg, "tiny.yaml")
    out = tmp_path / "synthetic" / "tiny"
    assert result.output_dir == str(out) and not result.interrupted
    assert (result.begin_epoch, result.end_epoch) == (0, 2)
    for name in ("checkpoint.pth", "model_best.pth", "final_state.pth", "config.yaml"):
        assert (out / name).is_file(), name
    assert list((tmp_path / "log" / "synthetic" / "tiny").glob("events.out.tfevents.*"))
    assert "TRAIN.AMP needs CUDA" in caplog.text
    # PRINT_FREQ 1: debug images at every iteration of both epochs.
    iterations = sum(1 for r in read_metrics(out) if r["type"] == "train")
    assert len(list((out / "debug").glob("train_e*_gt*"))) == iterations

    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert saved["MODEL"]["HEAD"]["CHANNELS"] == [16, 8, 8]
    records = read_metrics(out)
    train_lines = [r for r in records if r["type"] == "train"]
    assert {frozenset(r) for r in train_lines} == {frozenset(METRIC_KEYS)}
    val_lines = [r for r in records if r["type"] == "val"]
    assert [r["epoch"] for r in val_lines] == [0, 1]
    assert set(STAT_NAMES) <= set(val_lines[-1])
    assert result.last_stats["AP"] == val_lines[-1]["AP"]
    state = ckpt.load_checkpoint(str(out / "checkpoint.pth"))
    assert state["epoch"] == 2
    assert state["best_ap"] == max(r["AP"] for r in val_lines)

    capsys.readouterr()
    cfg_file = write_yaml(tmp_path / "tiny.yaml", cfg)
    code = tool("test")["main"](
        ["--cfg", cfg_file, "TEST.MODEL_FILE", str(out / "final_state.pth")]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "AP .75" in printed and "AR (L)" in printed


def test_resume_matches_uninterrupted_run(tmp_path, make_cfg):
    """Stop after epoch 1 of 3, resume: same per-epoch lrs and weights within 1e-6.

    The stopped run validates after its last epoch (0) and the whole run does not:
    validation must not disturb the training random stream either.
    """
    # One drop, at the resumed epoch: the epoch after it must keep the dropped rate.
    common = dict(TRAIN__LR_STEP="[1]", TRAIN__EVAL_INTERVAL=0)
    whole = train(make_cfg(tmp_path / "whole", TRAIN__END_EPOCH=3, **common), "t")
    first = train(make_cfg(tmp_path / "parts", TRAIN__END_EPOCH=1, **common), "t")
    assert first.end_epoch == 1 and first.last_stats is not None
    rest = train(make_cfg(tmp_path / "parts", TRAIN__END_EPOCH=3, **common), "t")
    assert (rest.begin_epoch, rest.end_epoch) == (1, 3)

    lrs_whole = epoch_lrs(read_metrics(tmp_path / "whole" / "synthetic" / "t"))
    lrs_parts = epoch_lrs(read_metrics(tmp_path / "parts" / "synthetic" / "t"))
    assert lrs_whole == lrs_parts
    assert (
        lrs_whole[0] == 1e-3
        and math.isclose(lrs_whole[1], 1e-4)
        and math.isclose(lrs_whole[2], 1e-4)
    )
    a, b = whole.model.state_dict(), rest.model.state_dict()
    for key in a:
        assert torch.allclose(a[key].double(), b[key].double(), atol=1e-6, rtol=0), key


def test_issue6_case9_resume_keeps_schedule(tmp_path, make_cfg, tool, caplog):
    """Adam 1e-3, LR_STEP [2, 3], factor 0.1, END_EPOCH 4: epochs 0-1, stop, resume."""
    caplog.set_level(logging.INFO)
    schedule = dict(TRAIN__OPTIMIZER="adam", TRAIN__LR="0.001", TRAIN__LR_STEP="[2, 3]",
                    TRAIN__LR_FACTOR="0.1", TRAIN__EVAL_INTERVAL="0")  # fmt: skip
    train(make_cfg(tmp_path, TRAIN__END_EPOCH=2, **schedule), "case9")
    train(make_cfg(tmp_path, TRAIN__END_EPOCH=4, **schedule), "case9")
    lrs = epoch_lrs(read_metrics(tmp_path / "synthetic" / "case9"))
    assert [lrs[e] for e in range(4)] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-5], rel=1e-12)

    caplog.clear()
    resumed = make_cfg(tmp_path, TRAIN__END_EPOCH=4, **schedule)
    cfg_file = write_yaml(tmp_path / "case9.yaml", resumed)
    assert tool("train")["main"](["--cfg", cfg_file]) == 0
    assert "is at epoch 4 of 4: nothing to train" in caplog.text


def test_non_finite_loss_names_iteration_and_values(tmp_path, make_cfg, monkeypatch):
    from dypose.engine import trainer

    class NanLoss(trainer.build_loss.__globals__["KeypointMSELoss"]):
        def forward(self, output, target, target_weight):
            return super().forward(output, target, target_weight) * float("nan")

    monkeypatch.setattr(trainer, "build_loss", lambda cfg: NanLoss())
    expected = (
        r"non-finite loss nan at epoch 0, iteration 0/\d+ \(global iteration 0\); "
        r"per-keypoint losses \(batch mean\): \[\d"
    )
    with pytest.raises(NonFiniteLossError, match=expected):
        train(make_cfg(tmp_path), "nan")
    assert not (tmp_path / "synthetic" / "nan" / "checkpoint.pth").exists()


def test_checkpoint_of_other_architecture_fails_to_load(tmp_path, make_cfg, tool):
    static = train(make_cfg(tmp_path, TRAIN__END_EPOCH=1, TRAIN__EVAL_INTERVAL=0), "static")
    assert static.end_epoch == 1
    weights = tmp_path / "synthetic" / "static" / "final_state.pth"
    dynamic = make_cfg(tmp_path, MODEL__HEAD__ACTIVATION__KIND="dyrelu_c")
    cfg_file = write_yaml(tmp_path / "dy.yaml", dynamic)
    with pytest.raises(ckpt.CheckpointError, match=r"final_state.pth does not fit this model"):
        tool("test")["main"](["--cfg", cfg_file, "TEST.MODEL_FILE", str(weights)])
