"""Tests of COCO evaluation: issue 6 cases 1, 2, 3 and 5, the coco_sample figures."""

import json
import logging
import os

import numpy as np
import pytest

from dypose.config import get_config
from dypose.data.keypoints import make_keypoint_info
from dypose.evaluation import (
    BACKENDS,
    STAT_NAMES,
    EvaluationError,
    evaluate_predictions,
    evaluate_results_file,
    write_results,
)

# The README of coco_sample: pycocotools on its real predictions, no rescoring, no NMS.
SAMPLE_AP = {"AP": 0.860890, "AP .5": 0.993145, "AP .75": 0.910891, "AR": 0.875}


@pytest.mark.parametrize("backend", BACKENDS)
def test_case1_no_predictions_gives_cocoeval_empty_statistics(
    backend, standard, write_json, coco_info, caplog
):
    if backend == "faster_coco_eval":
        pytest.importorskip("faster_coco_eval")
    gt = write_json(standard.ground_truth(), "gt.json")
    results = write_json([], "results.json")
    with caplog.at_level(logging.WARNING):
        stats = evaluate_results_file(results, gt, coco_info, backend=backend)
    assert list(stats) == list(STAT_NAMES)
    assert list(stats.values()) == [0, 0, 0, -1, 0, 0, 0, 0, -1, 0]
    assert "no keypoint predictions" in caplog.text


def test_case2_unknown_image_id_is_named_before_evaluation(standard, write_json, coco_info):
    gt = write_json(standard.ground_truth(image_ids=(1,)), "gt.json")
    results = write_json([standard.perfect_result(1), standard.perfect_result(2)], "results.json")
    with pytest.raises(EvaluationError, match=r"1 image_id\(s\) not in the ground truth .*: 2;"):
        evaluate_results_file(results, gt, coco_info)


def test_case3_numpy_results_evaluate_to_ap_1(standard, write_json, coco_info, tmp_path):
    gt = write_json(standard.ground_truth(), "gt.json")
    keypoints = standard.keypoints().astype(np.float32)
    keypoints[:, 2] = 1.0
    result = {"image_id": np.int64(1), "score": np.float32(1.0), "keypoints": keypoints}
    path = write_results([result], str(tmp_path / "results.json"))
    stats = evaluate_results_file(path, gt, coco_info)
    assert stats["AP"] == pytest.approx(1.0)


def test_case5_five_keypoints_with_five_sigmas(standard, write_json):
    gt = write_json(standard.ground_truth(num_keypoints=5), "gt.json")
    results = write_json([standard.perfect_result(1, num_keypoints=5)], "results.json")
    info = make_keypoint_info(5, oks_sigmas=[0.025] * 5)
    stats = evaluate_results_file(results, gt, info)
    assert stats["AP"] == pytest.approx(1.0)
    assert stats["AP (M)"] == -1


def test_case5_sigma_count_mismatch_is_an_error(standard, write_json, coco_info):
    gt = write_json(standard.ground_truth(num_keypoints=5), "gt.json")
    results = write_json([standard.perfect_result(1, num_keypoints=5)], "results.json")
    with pytest.raises(EvaluationError, match="5 keypoints per person but 17 OKS sigmas"):
        evaluate_results_file(results, gt, coco_info)


def _preds_of(keypoints, image_ids, box_scores):
    n = len(image_ids)
    return {
        "keypoints": np.asarray(keypoints, np.float32),
        "centers": np.tile([[160.0, 200.0]], (n, 1)).astype(np.float32),
        "scales": np.tile([[1.40625, 1.875]], (n, 1)).astype(np.float32),
        "areas": np.full(n, 20000.0, np.float32),
        "scores": np.asarray(box_scores, np.float32),
        "image_ids": np.asarray(image_ids, np.int64),
        "indices": np.arange(n),
    }


def test_evaluate_predictions_rescores_suppresses_and_writes(
    standard, write_json, coco_info, tmp_path
):
    gt = write_json(standard.ground_truth(), "gt.json")
    good = standard.keypoints()
    good[:, 2] = 0.9
    shifted = good.copy()
    shifted[:, 0] += 2.0  # a near-duplicate: OKS-NMS removes it
    preds = _preds_of([good, shifted], [1, 1], [0.5, 0.4])
    cfg = get_config(None, ["DATASET.TEST_SET", "mini"])
    stats, path = evaluate_predictions(preds, cfg, gt, str(tmp_path / "out"), coco_info)
    assert path == os.path.join(str(tmp_path / "out"), "keypoints_mini_results.json")
    with open(path, encoding="utf-8") as f:
        written = json.load(f)
    assert len(written) == 1
    assert written[0]["score"] == pytest.approx(0.5 * 0.9, rel=1e-6)
    assert written[0]["box_score"] == pytest.approx(0.5, rel=1e-6)
    assert stats["AP"] == pytest.approx(1.0)


def test_evaluate_predictions_without_annotations_skips(
    standard, write_json, coco_info, tmp_path, caplog
):
    info_only = standard.ground_truth()
    del info_only["annotations"]
    image_info = write_json(info_only, "image_info_test-dev2017.json")
    preds = _preds_of([standard.keypoints()], [1], [1.0])
    cfg = get_config(None, ["DATASET.TEST_SET", "test-dev2017"])
    with caplog.at_level(logging.INFO):
        stats, path = evaluate_predictions(preds, cfg, image_info, str(tmp_path), coco_info)
    assert stats is None
    assert os.path.isfile(path)
    assert "has no annotations" in caplog.text


def test_readme_ap_on_coco_sample(coco_sample, coco_info):
    stats = evaluate_results_file(
        str(coco_sample / "results" / "keypoint_predictions_val2017.json"),
        str(coco_sample / "annotations" / "person_keypoints_val2017.json"),
        coco_info,
    )
    for name, value in SAMPLE_AP.items():
        assert stats[name] == pytest.approx(value, abs=1e-6), name


def test_rescored_file_keeps_box_score(coco_sample, coco_info, tmp_path):
    out = str(tmp_path / "rescored.json")
    results = str(coco_sample / "results" / "keypoint_predictions_val2017.json")
    annotations = str(coco_sample / "annotations" / "person_keypoints_val2017.json")
    evaluate_results_file(results, annotations, coco_info, rescore=True, nms=True, output_path=out)
    with open(results, encoding="utf-8") as f:
        original = json.load(f)
    with open(out, encoding="utf-8") as f:
        rescored = json.load(f)
    assert 0 < len(rescored) <= len(original)
    first = next(r for r in original if r["keypoints"] == rescored[0]["keypoints"])
    peaks = np.array(first["keypoints"][2::3])
    expected = first["score"] * peaks[peaks > 0.2].mean()
    assert rescored[0]["score"] == pytest.approx(expected, rel=1e-9)
    assert rescored[0]["box_score"] == first["score"]


def test_faster_coco_eval_gives_identical_statistics(coco_sample, coco_info):
    pytest.importorskip("faster_coco_eval")
    args = (
        str(coco_sample / "results" / "keypoint_predictions_val2017.json"),
        str(coco_sample / "annotations" / "person_keypoints_val2017.json"),
        coco_info,
    )
    reference = evaluate_results_file(*args, rescore=True, nms=True)
    faster = evaluate_results_file(*args, rescore=True, nms=True, backend="faster_coco_eval")
    for name in STAT_NAMES:
        assert faster[name] == pytest.approx(reference[name], abs=1e-12), name


def test_unknown_backend_is_an_error(standard, write_json, coco_info):
    gt = write_json(standard.ground_truth(), "gt.json")
    results = write_json([standard.perfect_result(1)], "results.json")
    with pytest.raises(EvaluationError, match="unknown COCOeval backend 'cocoapi'"):
        evaluate_results_file(results, gt, coco_info, backend="cocoapi")


def test_non_finite_predictions_are_an_error(standard, write_json, coco_info, tmp_path):
    gt = write_json(standard.ground_truth(), "gt.json")
    keypoints = standard.keypoints()
    keypoints[3, 0] = np.nan
    preds = _preds_of([standard.keypoints(), keypoints], [1, 1], [1.0, 1.0])
    cfg = get_config()
    with pytest.raises(EvaluationError, match=r"1 of 2 predictions hold NaN .* row 1"):
        evaluate_predictions(preds, cfg, gt, str(tmp_path), coco_info)


def test_empty_predictions_evaluate_without_crash(standard, write_json, coco_info, tmp_path):
    gt = write_json(standard.ground_truth(), "gt.json")
    preds = _preds_of(np.zeros((0, 17, 3)), [], [])
    stats, path = evaluate_predictions(preds, get_config(), gt, str(tmp_path), coco_info)
    assert list(stats.values()) == [0, 0, 0, -1, 0, 0, 0, 0, -1, 0]
    with open(path, encoding="utf-8") as f:
        assert json.load(f) == []


def test_soft_nms_keeps_every_pose_with_decayed_scores(coco_sample, coco_info, tmp_path):
    results = str(coco_sample / "results" / "keypoint_predictions_val2017.json")
    annotations = str(coco_sample / "annotations" / "person_keypoints_val2017.json")
    out = str(tmp_path / "soft.json")
    stats = evaluate_results_file(results, annotations, coco_info, nms=True, soft_nms=True,
                                  output_path=out)  # fmt: skip
    with open(results, encoding="utf-8") as f:
        original = json.load(f)
    with open(out, encoding="utf-8") as f:
        soft = json.load(f)
    # At most 20 poses per image survive (HRNet's cap); no score grows.
    per_image = {}
    for r in soft:
        per_image[r["image_id"]] = per_image.get(r["image_id"], 0) + 1
        assert r["score"] <= r["box_score"] + 1e-12
    assert max(per_image.values()) <= 20
    assert len(soft) == sum(min(20, sum(o["image_id"] == i for o in original)) for i in per_image)
    assert 0.0 < stats["AP"] <= 1.0
