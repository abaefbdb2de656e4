"""Tests of OKS and OKS-NMS against straightforward per-pair loops."""

import numpy as np
import pytest

from dypose.data.keypoints import COCO_OKS_SIGMAS
from dypose.evaluation import oks_iou, oks_matrix, oks_nms, soft_oks_nms
from dypose.evaluation.nms import group_by_image

SIGMAS = np.array(COCO_OKS_SIGMAS)


def _oks_pair(a, b, area_a, area_b):
    """COCO OKS of two poses with the mean area, one keypoint at a time."""
    total = 0.0
    for k in range(len(SIGMAS)):
        d2 = (a[k, 0] - b[k, 0]) ** 2 + (a[k, 1] - b[k, 1]) ** 2
        var = (2 * SIGMAS[k]) ** 2
        total += np.exp(-d2 / var / ((area_a + area_b) / 2 + np.spacing(1)) / 2)
    return total / len(SIGMAS)


def _reference_nms(poses, scores, areas, threshold):
    """HRNet's greedy loop: keep the best, drop those above the threshold, repeat."""
    order = list(np.argsort(scores)[::-1])
    keep = []
    while order:
        best = order.pop(0)
        keep.append(best)
        order = [
            j for j in order if _oks_pair(poses[best], poses[j], areas[best], areas[j]) <= threshold
        ]
    return keep


def _random_poses(rng, n):
    # Clusters of near-duplicates so that suppression actually happens.
    base = rng.uniform(0, 300, (max(1, n // 4), 17, 2))
    poses = base[rng.integers(0, len(base), n)] + rng.normal(0, 1.5, (n, 17, 2))
    scores = rng.random(n)
    return np.concatenate([poses, rng.random((n, 17, 1))], axis=2), scores, rng.uniform(2e3, 2e4, n)


def test_oks_nms_keeps_the_reference_indices():
    rng = np.random.default_rng(0)
    for trial in range(5):
        poses, scores, areas = _random_poses(rng, 40)
        for threshold in (0.5, 0.9):
            keep = oks_nms(poses, scores, areas, threshold, SIGMAS)
            expected = _reference_nms(poses, scores, areas, threshold)
            assert keep.tolist() == expected, (trial, threshold)
            assert 0 < len(keep) < 40


def test_oks_iou_and_matrix_match_pairwise_loop():
    rng = np.random.default_rng(1)
    poses, _, areas = _random_poses(rng, 6)
    matrix = oks_matrix(poses, areas, SIGMAS)
    row = oks_iou(poses[2], poses, areas[2], areas, SIGMAS)
    for j in range(6):
        expected = _oks_pair(poses[2], poses[j], areas[2], areas[j])
        assert matrix[2, j] == pytest.approx(expected, rel=1e-12)
        assert row[j] == pytest.approx(expected, rel=1e-12)
    assert matrix[3, 3] == pytest.approx(1.0)


def test_oks_iou_visibility_threshold_counts_only_confident_keypoints():
    pose = np.zeros((17, 3))
    pose[:, 2] = 1.0
    other = pose.copy()
    other[:, 0] = 1000.0  # every keypoint far away (OKS term ~0) ...
    other[0, 0] = 0.0  # ... but the nose, which alone is confident in both
    other[1:, 2] = 0.1
    full = oks_iou(pose, other[None], 1e4, np.array([1e4]), SIGMAS)
    masked = oks_iou(pose, other[None], 1e4, np.array([1e4]), SIGMAS, in_vis_thre=0.2)
    assert full[0] == pytest.approx(1.0 / 17.0)
    assert masked[0] == pytest.approx(1.0)


def test_oks_rejects_wrong_sigma_count():
    with pytest.raises(ValueError, match="5 keypoints but 17 OKS sigmas"):
        oks_matrix(np.zeros((2, 5, 3)), np.ones(2), SIGMAS)


def test_soft_oks_nms_decays_duplicates():
    pose = np.zeros((17, 3))
    pose[:, 0] = np.arange(17) * 10.0
    far = pose.copy()
    far[:, 1] += 500.0
    poses = np.stack([pose, pose, far])
    keep, scores = soft_oks_nms(poses, np.array([0.9, 0.8, 0.5]), np.full(3, 1e4), 0.9, SIGMAS)
    # The exact duplicate (OKS 1) decays by exp(-1 / 0.9); the far pose is untouched.
    assert keep.tolist() == [0, 2, 1]
    np.testing.assert_allclose(scores, [0.9, 0.5, 0.8 * np.exp(-1 / 0.9)], rtol=1e-9)


def test_group_by_image_in_first_seen_order():
    groups = group_by_image(np.array([7, 3, 7, 5, 3]))
    assert [g.tolist() for g in groups] == [[0, 2], [1, 4], [3]]
