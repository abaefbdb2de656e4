"""tools/visualize.py and tools/inspect_dyrelu.py on the real coco_sample images.

Drawings go to tmp_path only: three coco_sample images carry non-commercial licences.
"""

import json
import logging
import os
import runpy
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dypose.apis import collect_images, person_boxes
from dypose.config import get_config
from dypose.models import build_model

REPO = Path(__file__).resolve().parents[2]
DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"
SMALL = {
    "MODEL": {
        "IMAGE_SIZE": [64, 96], "HEATMAP_SIZE": [16, 24], "HEAD": {"CHANNELS": [32, 16, 16]},
        "BACKBONE": {"WIDTH": 0.25, "ACTIVATION": {"KIND": "dyrelu_c"}},
    },
    "DEVICE": "cpu",
}  # fmt: skip


def _write_cfg(tmp_path: Path, coco_sample: Path) -> str:
    cfg = dict(SMALL)
    cfg["DATASET"] = {"ROOT": str(coco_sample), "TEST_SET": "val2017"}
    cfg["TEST"] = {"COCO_BBOX_FILE": str(coco_sample / DETECTIONS), "IMAGE_THRE": 0.3}
    path = tmp_path / "small.yaml"
    path.write_text(json.dumps(cfg), encoding="utf-8")  # JSON is valid YAML
    return str(path)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, coco_sample):
    tmp = tmp_path_factory.mktemp("vis")
    cfg_path = _write_cfg(tmp, coco_sample)
    torch.manual_seed(0)
    model = build_model(get_config(cfg_path))
    checkpoint = tmp / "final_state.pth"
    torch.save(model.state_dict(), checkpoint)
    return tmp, cfg_path, str(checkpoint)


@pytest.fixture
def keep_logging():
    """The tools configure the root logger; give pytest's handlers back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _main(tool: str, *args: str) -> int:
    """Runs a tool's main() in this process (a subprocess costs seconds of imports)."""
    return runpy.run_path(str(REPO / "tools" / tool))["main"](list(args))


def _run(tool: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / tool), *args],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300,
    )  # fmt: skip


def _json_counts(coco_sample: Path):
    data = json.loads((coco_sample / "annotations/person_keypoints_val2017.json").read_text())
    labelled = sum(1 for a in data["annotations"] if a["num_keypoints"] > 0)
    dets = json.loads((coco_sample / DETECTIONS).read_text())
    return labelled, sum(1 for d in dets if d["score"] >= 0.3)


def test_person_boxes_match_the_json(setup, coco_sample):
    _, cfg_path, _ = setup
    cfg = get_config(cfg_path)
    images = collect_images([str(coco_sample / "images" / "val2017")])
    assert len(images) == 4
    labelled, confident = _json_counts(coco_sample)
    gt = person_boxes(cfg, images, "gt")
    det = person_boxes(cfg, images, "det")
    assert sum(len(b) for b, _ in gt.values()) == labelled
    assert sum(len(b) for b, _ in det.values()) == confident
    assert all((s >= 0.3).all() for _, s in det.values())
    assert person_boxes(cfg, images, "whole") == {}
    # A file the json does not list gets no boxes (callers then use the whole image).
    assert person_boxes(cfg, ["/elsewhere/unlisted.jpg"], "gt") == {}
    with pytest.raises(ValueError, match="need TEST.COCO_BBOX_FILE"):
        person_boxes(get_config(cfg_path, ["TEST.COCO_BBOX_FILE", ""]), images, "det")
    with pytest.raises(ValueError, match="box source 'boxes'"):
        person_boxes(cfg, images, "boxes")


@pytest.mark.parametrize("boxes", ["gt", "det"])
def test_visualize_tool_writes_one_drawing_per_image(setup, coco_sample, boxes, keep_logging):
    tmp, cfg_path, checkpoint = setup
    out = tmp / f"out_{boxes}"
    images = coco_sample / "images" / "val2017"
    args = ["--cfg", cfg_path, "--checkpoint", checkpoint, "--images", str(images),
            "--boxes", boxes, "--out", str(out), "--threshold", "0"]  # fmt: skip
    if boxes == "gt":  # once through the command line itself
        result = _run("visualize.py", *args)
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert _main("visualize.py", *args) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(p.stem + ".jpg" for p in images.iterdir())
    drawn = cv2.imread(str(out / names[0]))
    original = cv2.imread(str(images / names[0]))
    assert drawn.shape == original.shape
    # Boxes and keypoints change many pixels (threshold 0: every keypoint is drawn).
    assert (np.abs(drawn.astype(int) - original).max(axis=2) > 60).sum() > 200


def test_visualize_tool_draws_a_results_file(setup, coco_sample, keep_logging):
    tmp, cfg_path, _ = setup
    out = tmp / "out_results"
    image = coco_sample / "images" / "val2017" / "000000000785.jpg"
    code = _main("visualize.py", "--cfg", cfg_path, "--images", str(image), "--out", str(out),
                 "--results", str(coco_sample / "results/keypoint_predictions_val2017.json"),
                 "--min-score", "0.5")  # fmt: skip
    assert code == 0
    assert [p.name for p in out.iterdir()] == ["000000000785.jpg"]


def test_visualize_tool_reports_a_missing_path(setup, capsys, keep_logging):
    tmp, cfg_path, checkpoint = setup
    code = _main("visualize.py", "--cfg", cfg_path, "--checkpoint", checkpoint,
                 "--images", str(tmp / "nope.jpg"), "--out", str(tmp / "o"))  # fmt: skip
    assert code == 2
    assert "neither an image file nor a folder" in capsys.readouterr().out


def test_inspect_dyrelu_tool(setup, coco_sample, capsys, keep_logging):
    tmp, cfg_path, checkpoint = setup
    out = tmp / "inspect"
    code = _main("inspect_dyrelu.py", "--cfg", cfg_path, "--checkpoint", checkpoint,
                 "--images", str(coco_sample / "images" / "val2017"), "--out", str(out),
                 "--points", "200")  # fmt: skip
    assert code == 0
    stats = json.loads((out / "dyrelu_stats.json").read_text())
    labelled, _ = _json_counts(coco_sample)
    assert stats["images"] == labelled  # one crop per ground-truth person
    assert {p.name for p in out.iterdir()} == {
        "input_output.png",
        "slope_difference.png",
        "attention.png",
        "dyrelu_stats.json",
    }
    assert "slope < 0 or > 1" in capsys.readouterr().out


class _RedSpot(torch.nn.Module):
    """Heatmaps = 4x4-pooled red channel for every keypoint: peaks at the red spot."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.nn.functional.avg_pool2d(x[:, :1], 4).repeat(1, 17, 1, 1) + self.dummy


def test_visualize_images_whole_image_without_a_dataset(tmp_path):
    from dypose.apis import visualize_images
    from dypose.data.keypoints import RIGHT_COLOR

    image = np.zeros((96, 64, 3), np.uint8)
    cv2.circle(image, (40, 30), 3, (0, 0, 255), -1)  # BGR red spot at x=40, y=30
    cv2.imwrite(str(tmp_path / "spot.png"), image)
    cfg = get_config(None, ["MODEL.IMAGE_SIZE", "[64, 96]", "MODEL.HEATMAP_SIZE", "[16, 24]",
                            "TEST.FLIP_TEST", "False"])  # fmt: skip
    written = visualize_images(
        cfg,
        _RedSpot(),
        [str(tmp_path / "spot.png")],
        str(tmp_path / "out"),
        box_source="whole",
        threshold=0.0,
    )
    assert [os.path.basename(p) for p in written] == ["spot.jpg"]
    drawn = cv2.imread(written[0])[..., ::-1]
    # All 17 keypoints land on the spot (decoded within ~1 heatmap cell = 5 px); the
    # last drawn, keypoint 16 (right ankle), shows on top in the right-side colour.
    near = drawn[24:37, 33:48].reshape(-1, 3)
    assert (np.abs(near.astype(int) - RIGHT_COLOR).max(axis=1) < 40).any()
    assert drawn[80:, :].max() < 30  # nothing far from the spot
