"""Flip and half-body augmentation."""

import numpy as np
import pytest

from dypose.data.augment import flip_keypoints, flip_matrix, half_body_box
from dypose.data.keypoints import COCO_FLIP_PAIRS, COCO_UPPER_BODY_IDS

ASPECT = 192 / 256


class FixedRandom:
    """Stands in for np.random.Generator: random() returns the given values in turn."""

    def __init__(self, *values):
        self.values = list(values)

    def random(self):
        return self.values.pop(0)


def person(rng_seed=0) -> np.ndarray:
    rng = np.random.default_rng(rng_seed)
    keypoints = np.column_stack(
        [rng.uniform(50, 600, 17), rng.uniform(20, 460, 17), np.full(17, 2)]
    )
    return keypoints.astype(np.float32)


def test_flip_twice_is_identity():
    keypoints = person()
    keypoints[3] = 0  # unlabelled keypoints stay (0, 0, 0)
    once = flip_keypoints(keypoints, 640, COCO_FLIP_PAIRS)
    assert once[1, 0] == pytest.approx(639 - keypoints[2, 0])  # left eye <- mirrored right eye
    np.testing.assert_array_equal(once[4], [0, 0, 0])
    np.testing.assert_allclose(flip_keypoints(once, 640, COCO_FLIP_PAIRS), keypoints, atol=1e-4)
    np.testing.assert_allclose(flip_matrix(640) @ flip_matrix(640), np.eye(3))


def test_half_body_upper():
    keypoints = person()
    center, scale = half_body_box(keypoints, COCO_UPPER_BODY_IDS, ASPECT, FixedRandom(0.1))
    upper = keypoints[:11, :2]
    low, high = upper.min(axis=0), upper.max(axis=0)
    np.testing.assert_allclose(center, (low + high) / 2, rtol=1e-6)
    width, height = high - low
    width, height = max(width, height * ASPECT), max(height, width / ASPECT)
    np.testing.assert_allclose(scale, np.array([width, height]) / 200 * 1.5, rtol=1e-5)


def test_half_body_lower_when_drawn():
    keypoints = person()
    center, _ = half_body_box(keypoints, COCO_UPPER_BODY_IDS, ASPECT, FixedRandom(0.9))
    lower = keypoints[11:, :2]
    np.testing.assert_allclose(center, (lower.min(axis=0) + lower.max(axis=0)) / 2, rtol=1e-6)


def test_half_body_keeps_box_with_one_keypoint():
    keypoints = person()
    keypoints[1:, 2] = 0  # only the nose is labelled: both halves too small
    assert half_body_box(keypoints, COCO_UPPER_BODY_IDS, ASPECT, FixedRandom(0.1)) is None


def test_half_body_keeps_box_without_area():
    keypoints = person()
    keypoints[:11, :2] = [300.0, 200.0]  # every upper keypoint at one point
    keypoints[11:, 2] = 0
    assert half_body_box(keypoints, COCO_UPPER_BODY_IDS, ASPECT, FixedRandom(0.1)) is None
