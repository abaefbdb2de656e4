"""The synthetic dataset: COCO-valid, perfect when fed back, deterministic, learnable sides."""

import contextlib
import io
import json

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from dypose.config import get_config
from dypose.data import build_dataset
from dypose.data.synthetic import generate_synthetic, render_image


@pytest.fixture(scope="module")
def synthetic_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic")
    generate_synthetic(str(root), num_train=8, num_val=12, seed=3)
    return root


def test_ground_truth_fed_back_gives_ap_1(synthetic_root):
    path = synthetic_root / "annotations" / "person_keypoints_val_synth.json"
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        results = [
            {"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0}
            for a in gt.dataset["annotations"]
            if a["num_keypoints"] > 0
        ]
        evaluator = COCOeval(gt, gt.loadRes(results), "keypoints")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    assert len(results) >= 12
    assert evaluator.stats[0] == pytest.approx(1.0)
    assert evaluator.stats[5] == pytest.approx(1.0)


def test_annotations_are_consistent(synthetic_root):
    data = json.loads(
        (synthetic_root / "annotations/person_keypoints_train_synth.json").read_text()
    )
    assert data["categories"][0]["skeleton"][0] == [16, 14]
    assert len(data["images"]) == 8
    ids = [a["id"] for a in data["annotations"]]
    assert len(set(ids)) == len(ids)
    sizes = {img["id"]: (img["width"], img["height"]) for img in data["images"]}
    for ann in data["annotations"]:
        keypoints = np.reshape(ann["keypoints"], (17, 3))
        assert ann["num_keypoints"] == int(np.count_nonzero(keypoints[:, 2]))
        assert set(keypoints[:, 2]) <= {0, 1, 2}
        assert np.all(keypoints[keypoints[:, 2] == 0, :2] == 0)
        width, height = sizes[ann["image_id"]]
        labelled = keypoints[keypoints[:, 2] > 0]
        assert np.all((labelled[:, 0] >= 0) & (labelled[:, 0] < width))
        assert np.all((labelled[:, 1] >= 0) & (labelled[:, 1] < height))
        x, y, w, h = ann["bbox"]
        assert w > 0 and h > 0 and x + w <= width and y + h <= height
        assert ann["area"] >= 0.55 * w * h - 1


def test_detections(synthetic_root):
    detections = json.loads(
        (synthetic_root / "person_detection_results/val_synth_detections.json").read_text()
    )
    assert all(d["category_id"] == 1 and 0 <= d["score"] <= 1 for d in detections)
    assert {d["image_id"] for d in detections} <= set(range(1_000_001, 1_000_013))
    assert min(d["score"] for d in detections) < 0.6 < max(d["score"] for d in detections)


def test_deterministic(tmp_path, synthetic_root):
    generate_synthetic(str(tmp_path), num_train=2, num_val=1, seed=3)
    name = "annotations/person_keypoints_train_synth.json"
    first = json.loads((synthetic_root / name).read_text())["annotations"]
    again = json.loads((tmp_path / name).read_text())["annotations"]
    count = len(again)
    assert first[:count] == again
    image = "images/train_synth/train_synth_000001.jpg"
    assert (synthetic_root / image).read_bytes() == (tmp_path / image).read_bytes()


def test_left_and_right_look_different():
    # Visible wrists carry a joint marker: yellow on the left, white on the right.
    checked = 0
    for seed in range(6):
        image, persons = render_image(np.random.default_rng(seed), 640, 480)
        for keypoints, _, _ in persons:
            points = np.reshape(keypoints, (17, 3))
            for index, left in ((9, True), (10, False)):
                x, y, v = points[index]
                if v == 2:
                    r, g, b = image[int(np.floor(y + 0.5)), int(np.floor(x + 0.5))].astype(int)
                    assert min(r, g) > 200 and (b < 60 if left else b > 200)
                    checked += 1
    assert checked >= 10


def test_dataset_reads_synthetic(synthetic_root):
    detections = synthetic_root / "person_detection_results/val_synth_detections.json"
    opts = ["DATASET.ROOT", str(synthetic_root), "DATASET.TRAIN_SET", "train_synth"]
    opts += ["DATASET.TEST_SET", "val_synth", "TEST.USE_GT_BBOX", "False"]
    cfg = get_config(opts=opts + ["TEST.COCO_BBOX_FILE", str(detections)])
    train = build_dataset(cfg, "train")
    image, target, weight, meta = train[0]
    assert image.shape == (3, 256, 192) and float(weight.sum()) > 0
    val = build_dataset(cfg, "val")
    assert all(r["score"] < 1.0 for r in val.records)


@pytest.mark.parametrize(
    "root, num_train, message",
    [
        ("", 5, "root is empty"),
        ("ROOT", -3, "num_train must be at least 1"),
        ("FILE", 5, "is a file"),
    ],
)
def test_bad_arguments_are_refused(tmp_path, root, num_train, message):
    (tmp_path / "file").write_text("x")
    root = {"ROOT": str(tmp_path / "out"), "FILE": str(tmp_path / "file")}.get(root, root)
    with pytest.raises(ValueError, match=message):
        generate_synthetic(root, num_train, 2, seed=0)
