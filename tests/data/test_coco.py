"""Records from COCO json and detector results; bad annotation files (issue 6)."""

import json
import logging

import numpy as np
import pytest

from dypose.config import get_config
from dypose.data.coco import AnnotationError, clip_box, load_records

DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"


def sample_config(root, *opts):
    return get_config(opts=["DATASET.ROOT", str(root), "TEST.COCO_BBOX_FILE",
                            str(root / DETECTIONS)] + list(opts))  # fmt: skip


def test_coco_sample_ground_truth(coco_sample, caplog):
    with caplog.at_level(logging.INFO, logger="dypose.data.coco"):
        records = load_records(sample_config(coco_sample), "val2017")
    assert len(records) == 12
    assert "4 images, 12 persons kept, skipped no keypoints: 2" in caplog.text
    first = records[0]
    assert first["image_id"] == 785
    assert first["image_path"].endswith("images/val2017/000000000785.jpg")
    # bbox [280.79, 44.73, 218.7, 346.68]: w - 1 and h - 1 by HRNet's clip.
    np.testing.assert_allclose(first["box"], [280.79, 44.73, 217.7, 345.68], atol=1e-4)
    np.testing.assert_allclose(first["center"], [280.79 + 217.7 / 2, 44.73 + 345.68 / 2], atol=1e-3)
    # Height-limited: 345.68 * 1.25 / 200 high, width from the 192:256 aspect.
    np.testing.assert_allclose(first["scale"], [345.68 * 0.75 * 1.25 / 200, 345.68 * 1.25 / 200],
                               rtol=1e-5)  # fmt: skip
    assert first["score"] == 1.0 and first["keypoints"].shape == (17, 3)


@pytest.mark.parametrize("threshold, count", [(0.0, 118), (0.3, 33)])
def test_coco_sample_detections(coco_sample, threshold, count):
    cfg = sample_config(coco_sample, "TEST.IMAGE_THRE", str(threshold))
    records = load_records(cfg, "val2017", use_gt_boxes=False)
    assert len(records) == count
    assert all(r["score"] >= threshold for r in records)
    assert all(np.all(r["keypoints"] == 0) for r in records)
    # File order is kept; the file's first box is image 785's, score 0.99997.
    assert records[0]["image_id"] == 785
    assert records[0]["score"] == pytest.approx(0.9999731779098511)
    np.testing.assert_allclose(
        records[0]["box"], [277.1183, 45.6997, 225.0913, 333.5603], atol=1e-3
    )


def test_hrnet_clip_rule():
    assert clip_box([-5, -3, 20, 10], 640, 480) == (0.0, 0.0, 19.0, 9.0)
    assert clip_box([630, 470, 50, 50], 640, 480) == (630.0, 470.0, 9.0, 9.0)
    assert clip_box([700, 10, 5, 5], 640, 480) is None


def test_area_zero_warns_and_is_skipped(tmp_path, toy, caplog):
    annotations = [toy.standard_annotation(ann_id=7, area=0.0),
                   toy.standard_annotation(ann_id=8, area=1.0)]  # fmt: skip
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], annotations)
    with caplog.at_level(logging.INFO, logger="dypose.data.coco"):
        records = load_records(toy.config_for(tmp_path), "toy")
    assert [r["annotation_id"] for r in records] == [8]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "annotation id 7 has area 0" in warnings[0] and "skipped for training" in warnings[0]
    assert "annotation id 8 has area 1" in warnings[1]
    assert all("pycocotools will score this person 0" in w for w in warnings)
    assert "1 persons kept, skipped zero area: 1" in caplog.text


def test_iscrowd_string_converted_with_warning(tmp_path, toy, caplog):
    images = [toy.image_entry(1), toy.image_entry(2)]
    annotations = [toy.standard_annotation(1, 1, iscrowd="0"),
                   toy.standard_annotation(2, 2, iscrowd="0")]  # fmt: skip
    toy.write_coco(tmp_path, "toy", images, annotations)
    with caplog.at_level(logging.WARNING, logger="dypose.data.coco"):
        records = load_records(toy.config_for(tmp_path), "toy")
    assert len(records) == 2
    assert "annotation id 1: field 'iscrowd' = '0' is not a number; read as 0" in caplog.text


def test_no_usable_person_lists_counts(tmp_path, toy):
    annotations = [
        toy.standard_annotation(1, iscrowd=1),
        toy.standard_annotation(2, keypoints=[0.0] * 51, num_keypoints=0),
        toy.standard_annotation(3, area=0),
        toy.standard_annotation(4, bbox=[700.0, 10.0, 20.0, 20.0]),
        toy.standard_annotation(5),
    ]
    annotations[4]["category_id"] = 2
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], annotations)
    message = ("no usable person left .*0 persons kept, skipped crowd: 1, no keypoints: 1, "
               "zero area: 1, bad box: 1, not a person: 1")  # fmt: skip
    with pytest.raises(AnnotationError, match=message):
        load_records(toy.config_for(tmp_path), "toy")


def test_truncated_json(tmp_path, toy):
    path = toy.write_coco(tmp_path, "toy", [toy.image_entry()], [toy.standard_annotation()])
    path.write_text(path.read_text()[:100])
    with pytest.raises(AnnotationError, match=r"person_keypoints_toy.json is not valid json"):
        load_records(toy.config_for(tmp_path), "toy")


@pytest.mark.parametrize("field", ["keypoints", "bbox", "image_id"])
def test_missing_field(tmp_path, toy, field):
    annotation = toy.standard_annotation(ann_id=42)
    del annotation[field]
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], [annotation])
    match = rf"person_keypoints_toy.json: annotation id 42: field '{field}' is missing"
    with pytest.raises(AnnotationError, match=match):
        load_records(toy.config_for(tmp_path), "toy")


def test_wrong_keypoint_count(tmp_path, toy):
    annotation = toy.standard_annotation(ann_id=9, keypoints=[1.0, 2.0, 2] * 5)
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], [annotation])
    with pytest.raises(AnnotationError, match="annotation id 9: field 'keypoints' has 15 numbers"):
        load_records(toy.config_for(tmp_path), "toy")


def test_bad_bbox(tmp_path, toy):
    annotation = toy.standard_annotation(ann_id=11, bbox=[1.0, 2.0, 3.0])
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], [annotation])
    with pytest.raises(AnnotationError, match="annotation id 11: field 'bbox' has 3 numbers"):
        load_records(toy.config_for(tmp_path), "toy")


def test_missing_file_and_detection_file(tmp_path, toy):
    with pytest.raises(AnnotationError, match="annotation file not found: .*person_keypoints_toy"):
        load_records(toy.config_for(tmp_path), "toy")
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], [toy.standard_annotation()])
    det = tmp_path / "det.json"
    det.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]))
    cfg = toy.config_for(tmp_path, "TEST.COCO_BBOX_FILE", str(det))
    with pytest.raises(AnnotationError, match="det.json: detection #0: field 'score' is missing"):
        load_records(cfg, "toy", use_gt_boxes=False)
