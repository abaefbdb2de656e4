"""Tests of rescoring, per-image selection and results files (issue 6, case 3)."""

import json

import numpy as np
import pytest
import torch

from dypose.data.keypoints import COCO_OKS_SIGMAS
from dypose.evaluation import build_results, rescore, select_poses, to_plain, write_results
from dypose.evaluation.results import pose_areas


def test_rescore_is_box_score_times_mean_visible_peak():
    peaks = np.array([[0.9, 0.5, 0.1, 0.2], [0.1, 0.2, 0.0, 0.15], [1.0, 1.0, 1.0, 1.0]])
    scores = rescore(peaks, np.array([0.8, 0.9, 0.5]), in_vis_thre=0.2)
    # Row 0: (0.9 + 0.5) / 2 * 0.8; row 1: nothing above 0.2 (0.2 is not above) -> 0.
    np.testing.assert_allclose(scores, [0.56, 0.0, 0.5])


def test_pose_areas_from_scale():
    np.testing.assert_allclose(pose_areas(np.array([[1.0, 1.5]])), [200.0 * 300.0])


def test_select_poses_per_image():
    pose = np.zeros((17, 3))
    pose[:, 0] = np.arange(17) * 10.0
    poses = np.stack([pose, pose + [1, 0, 0], pose])  # image 5 holds two duplicates
    indices, scores = select_poses(
        np.array([5, 5, 6]), poses, np.array([0.3, 0.7, 0.2]), np.full(3, 4e4),
        COCO_OKS_SIGMAS, oks_thre=0.9,
    )  # fmt: skip
    assert indices.tolist() == [1, 2]
    np.testing.assert_allclose(scores, [0.7, 0.2])


def test_build_results_plain_types():
    preds = {
        "keypoints": np.arange(2 * 17 * 3, dtype=np.float32).reshape(2, 17, 3),
        "centers": np.ones((2, 2), np.float32),
        "scales": np.ones((2, 2), np.float32),
        "scores": np.array([0.5, 0.25], np.float32),
        "image_ids": np.array([3, 4]),
    }
    results = build_results(preds, np.array([1]), np.array([0.125]))
    assert results == [
        {
            "image_id": 4,
            "category_id": 1,
            "keypoints": [float(v) for v in range(51, 102)],
            "score": 0.125,
            "center": [1.0, 1.0],
            "scale": [1.0, 1.0],
            "box_score": 0.25,
        }
    ]
    assert type(results[0]["image_id"]) is int


def test_case3_numpy_and_torch_values_are_written_as_plain_json(tmp_path):
    keypoints = np.random.default_rng(0).uniform(0, 400, (17, 3)).astype(np.float32)
    results = [
        {"image_id": np.int64(1), "score": np.float32(0.75), "keypoints": keypoints},
        {"image_id": torch.tensor(2), "score": torch.tensor(0.5), "keypoints": keypoints},
    ]
    path = write_results(results, str(tmp_path / "res.json"))
    with open(path, encoding="utf-8") as f:
        loaded = json.load(f)
    assert [r["image_id"] for r in loaded] == [1, 2]
    assert loaded[0]["category_id"] == 1
    assert len(loaded[0]["keypoints"]) == 51
    np.testing.assert_allclose(loaded[1]["keypoints"], keypoints.reshape(-1), atol=1e-4)
    assert loaded[0]["score"] == pytest.approx(0.75, abs=1e-4)
    assert not list(tmp_path.glob(".res.json*"))  # no temporary left behind


def test_write_results_names_missing_field(tmp_path):
    with pytest.raises(ValueError, match=r"result 0 lacks score"):
        write_results([{"image_id": 1, "keypoints": [0.0] * 51}], str(tmp_path / "r.json"))


def test_to_plain_nested():
    value = {"a": np.float32(0.5), "b": [torch.tensor([1, 2]), np.int8(3)]}
    assert to_plain(value) == {"a": 0.5, "b": [[1, 2], 3]}
