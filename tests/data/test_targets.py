"""Gaussian targets: equal to the straightforward per-keypoint loop, weights at the edges."""

import math

import numpy as np
import pytest

from dypose.data.targets import render_targets

HEATMAP = (48, 64)
STRIDE = (4.0, 4.0)


def reference_targets(keypoints, heatmap_size, stride, sigma):
    """The straightforward loop: one window per keypoint, pasted where it overlaps."""
    width, height = heatmap_size
    radius = int(3 * sigma)
    size = 2 * radius + 1
    offsets = np.arange(size, dtype=np.float64) - radius
    patch = np.exp(-(offsets[None, :] ** 2 + offsets[:, None] ** 2) / (2 * sigma**2))
    target = np.zeros((len(keypoints), height, width), dtype=np.float32)
    weight = np.zeros((len(keypoints), 1), dtype=np.float32)
    for k, (x, y, v) in enumerate(keypoints):
        if v <= 0:
            continue
        mu_x = math.floor(x / stride[0] + 0.5)
        mu_y = math.floor(y / stride[1] + 0.5)
        left, top = mu_x - radius, mu_y - radius
        right, bottom = mu_x + radius + 1, mu_y + radius + 1
        if left >= width or top >= height or right <= 0 or bottom <= 0:
            continue
        weight[k] = 1.0
        x0, x1 = max(0, left), min(width, right)
        y0, y1 = max(0, top), min(height, bottom)
        target[k, y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
    return target, weight


@pytest.mark.parametrize("sigma", [2.0, 1.5, 3.0])
def test_equal_to_reference_loop(sigma):
    rng = np.random.default_rng(1)
    keypoints = np.column_stack(
        [rng.uniform(-60, 250, 200), rng.uniform(-60, 320, 200), rng.integers(0, 3, 200)]
    ).astype(np.float32)
    target, weight = render_targets(keypoints, HEATMAP, STRIDE, sigma)
    expected_target, expected_weight = reference_targets(keypoints, HEATMAP, STRIDE, sigma)
    assert target.dtype == np.float32 and target.shape == (200, 64, 48)
    np.testing.assert_array_equal(target, expected_target)
    np.testing.assert_array_equal(weight, expected_weight)
    # The random set covers all cases: inside, truncated, wholly outside, unlabelled.
    assert 0 < expected_weight.sum() < 200


def test_peak_at_rounded_cell():
    keypoints = np.array([[101.0, 57.0, 2], [2.0, 250.0, 1]], dtype=np.float32)
    target, weight = render_targets(keypoints, HEATMAP, STRIDE, 2.0)
    # 101 / 4 = 25.25 -> column 25; 57 / 4 = 14.25 -> row 14.
    assert np.unravel_index(target[0].argmax(), target[0].shape) == (14, 25)
    assert target[0, 14, 25] == 1.0
    assert target[0, 14, 25 + 6] == pytest.approx(math.exp(-36 / 8), rel=1e-6)
    assert target[0, 14, 25 + 7] == 0.0
    # x 2 -> 0.5 -> column 1; y 250 -> 62.5 -> row 63 (rounded half up).
    assert np.unravel_index(target[1].argmax(), target[1].shape) == (63, 1)
    np.testing.assert_array_equal(weight.ravel(), [1.0, 1.0])


def test_edge_keypoints():
    # Column -7 (x = -28): window [-13, -1] wholly outside -> weight 0, empty map.
    # Column -6 (x = -24): window reaches column 0 -> truncated Gaussian kept, not clamped.
    keypoints = np.array([[-28.0, 100.0, 2], [-24.0, 100.0, 2], [50.0, 50.0, 0]], np.float32)
    target, weight = render_targets(keypoints, HEATMAP, STRIDE, 2.0)
    np.testing.assert_array_equal(weight.ravel(), [0.0, 1.0, 0.0])
    assert target[0].max() == 0.0 and target[2].max() == 0.0
    assert target[1, 25, 0] == pytest.approx(math.exp(-36 / 8), rel=1e-6)
    assert np.count_nonzero(target[1]) == 13  # one column of the window


def test_keypoint_weights_multiply():
    keypoints = np.array([[20.0, 20.0, 2], [40.0, 40.0, 2]], dtype=np.float32)
    _, weight = render_targets(keypoints, HEATMAP, STRIDE, 2.0, weights=np.array([1.5, 0.5]))
    np.testing.assert_allclose(weight.ravel(), [1.5, 0.5])
