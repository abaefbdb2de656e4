"""tools/test.py modes without a model: --results and --check."""

import logging

import pytest


def test_results_file_reproduces_published_ap(coco_sample, repo_root, tool, capsys):
    """coco_sample's README: AP 0.860890, AP .5 0.993145, AP .75 0.910891, AR 0.875."""
    main = tool("test")["main"]
    results = coco_sample / "results" / "keypoint_predictions_val2017.json"
    experiments = repo_root / "experiments" / "coco" / "mobilenetv2"
    cfg_file = str(experiments / "mobilenetv2_x0.5_static_256x192.yaml")
    code = main(["--cfg", cfg_file, "--results", str(results), "DATASET.ROOT", str(coco_sample)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    top = max(i for i, line in enumerate(lines) if line.startswith("| AP "))
    header = [c.strip() for c in lines[top].strip("|").split("|")]
    values = [float(c) for c in lines[top + 2].strip("|").split("|")]
    stats = dict(zip(header, values))
    assert stats["AP"] == pytest.approx(0.861, abs=5e-4)
    assert stats["AP .5"] == pytest.approx(0.993, abs=5e-4)
    assert stats["AR"] == pytest.approx(0.875, abs=5e-4)


def test_check_lists_every_bad_image(tmp_path, synthetic_root, write_cfg, tool, caplog):
    """A missing and an empty image are both reported, with full paths, in one run."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    images = sorted((root / "images" / "val_synth").iterdir())
    images[0].unlink()
    images[1].write_bytes(b"")
    cfg_file = write_cfg(tmp_path / "check.yaml", tmp_path, DATASET__ROOT=str(root))
    caplog.set_level(logging.INFO)
    assert tool("test")["main"](["--cfg", cfg_file, "--check"]) == 1
    assert "2 bad image file(s)" in caplog.text
    assert str(images[0].resolve()) in caplog.text and str(images[1].resolve()) in caplog.text


DETECTIONS = "COCO_val2017_detections_AP_H_56_person.json"


@pytest.mark.parametrize("use_gt_bbox, persons", [(True, 12), (False, 118)])
def test_model_on_coco_sample_with_gt_and_detector_boxes(
    coco_sample, tmp_path, tool, use_gt_bbox, persons
):
    """tools/test.py on real COCO images: every box is predicted and the file is COCO json."""
    import json

    import torch

    from dypose.config import get_config
    from dypose.models import build_model

    # A small random model: this checks the real-data path, not accuracy (12 labelled
    # persons in the annotations; 118 detector boxes at TEST.IMAGE_THRE 0).
    opts = [
        "MODEL.IMAGE_SIZE", "[64, 64]", "MODEL.HEATMAP_SIZE", "[16, 16]",
        "MODEL.BACKBONE.WIDTH", "0.25", "MODEL.HEAD.CHANNELS", "[16, 8, 8]",
        "MODEL.BACKBONE.ACTIVATION.KIND", "dyrelu_c", "MODEL.HEAD.ACTIVATION.KIND", "dyrelu_c",
        "DATASET.ROOT", str(coco_sample), "DEVICE", "cpu", "WORKERS", "0",
        "OUTPUT_DIR", str(tmp_path), "TEST.USE_GT_BBOX", str(use_gt_bbox), "TEST.IMAGE_THRE", "0",
        "TEST.COCO_BBOX_FILE", str(coco_sample / "person_detection_results" / DETECTIONS),
    ]  # fmt: skip
    torch.manual_seed(0)
    checkpoint = tmp_path / "random.pth"
    torch.save(build_model(get_config(None, opts)).state_dict(), checkpoint)
    cfg_file = tmp_path / "sample.yaml"
    cfg_file.write_text(get_config(None, opts).dump(), encoding="utf-8")

    assert tool("test")["main"](["--cfg", str(cfg_file), "TEST.MODEL_FILE", str(checkpoint)]) == 0
    results_file = tmp_path / "coco" / "sample" / "keypoints_val2017_results.json"
    results = json.loads(results_file.read_text())
    # OKS-NMS may merge overlapping poses of a random model, never add any.
    assert 0 < len(results) <= persons
    assert {r["image_id"] for r in results} <= {785, 40083, 196141, 197388}
    assert all(len(r["keypoints"]) == 51 for r in results)
