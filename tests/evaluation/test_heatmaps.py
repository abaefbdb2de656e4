"""Tests of flip_back, flip_average and decode_heatmaps."""

import math

import numpy as np
import pytest
import torch

from dypose.data.keypoints import COCO_FLIP_PAIRS
from dypose.data.transforms import get_affine_transform, transform_points
from dypose.evaluation import decode_heatmaps, flip_average, flip_back
from dypose.evaluation.heatmaps import (
    _flip_average_torch,
    _flip_permutation,
    _peaks_numpy,
    _peaks_torch,
)


def _reference_decode(heatmaps, centers, scales):
    """HRNet's get_final_preds written as plain loops (argmax kept for peaks <= 0)."""
    n, k, h, w = heatmaps.shape
    keypoints = np.zeros((n, k, 2))
    scores = np.zeros((n, k))
    for i in range(n):
        matrix = get_affine_transform(centers[i], scales[i], 0, (w, h), inverse=True)
        for j in range(k):
            hm = heatmaps[i, j]
            idx = int(np.argmax(hm))
            px, py = idx % w, idx // w
            x, y = float(px), float(py)
            if 1 < px < w - 1 and 1 < py < h - 1:
                x += 0.25 * np.sign(hm[py, px + 1] - hm[py, px - 1])
                y += 0.25 * np.sign(hm[py + 1, px] - hm[py - 1, px])
            keypoints[i, j] = transform_points(np.array([x, y]), matrix)
            scores[i, j] = hm.max()
    return keypoints, scores


def test_decode_matches_reference_loop():
    rng = np.random.default_rng(0)
    heatmaps = rng.standard_normal((6, 17, 64, 48)).astype(np.float32)
    heatmaps[0, 0] = -1.0  # all-negative channel: argmax (0, 0) kept
    heatmaps[1, 2, 0, 5] = 10.0  # border peak: no quarter step
    centers = rng.uniform(100, 500, (6, 2))
    scales = rng.uniform(0.5, 3.0, (6, 2))
    keypoints, scores = decode_heatmaps(heatmaps, centers, scales)
    ref_keypoints, ref_scores = _reference_decode(heatmaps, centers, scales)
    assert keypoints.dtype == np.float32 and scores.dtype == np.float32
    np.testing.assert_allclose(keypoints, ref_keypoints, rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-6)


def test_decode_quarter_offset_moves_toward_subpixel_peak():
    # Gaussian centred at heatmap (20.3, 30.8): argmax cell (20, 31), the quarter step
    # goes +x (toward 20.3) and -y (toward 30.8).
    h, w = 64, 48
    ys, xs = np.mgrid[0:h, 0:w]
    hm = np.exp(-((xs - 20.3) ** 2 + (ys - 30.8) ** 2) / (2 * 2.0**2))
    heatmaps = hm[None, None].astype(np.float32)
    # Center = crop centre and scale so that one heatmap pixel is one image pixel.
    centers = np.array([[24.0, 32.0]])
    scales = np.array([[48.0 / 200.0, 64.0 / 200.0]])
    keypoints, scores = decode_heatmaps(heatmaps, centers, scales)
    np.testing.assert_allclose(keypoints[0, 0], [20.25, 30.75], atol=1e-5)
    assert scores[0, 0] == pytest.approx(math.exp(-(0.3**2 + 0.2**2) / 8.0), rel=1e-5)
    plain, _ = decode_heatmaps(heatmaps, centers, scales, quarter_offset=False)
    np.testing.assert_allclose(plain[0, 0], [20.0, 31.0], atol=1e-5)


def test_decode_torch_equals_numpy():
    rng = np.random.default_rng(1)
    heatmaps = rng.random((3, 5, 16, 12)).astype(np.float32)
    centers, scales = rng.uniform(50, 60, (3, 2)), rng.uniform(1, 2, (3, 2))
    from_numpy = decode_heatmaps(heatmaps, centers, scales)
    from_torch = decode_heatmaps(torch.from_numpy(heatmaps), torch.tensor(centers), scales)
    np.testing.assert_array_equal(from_numpy[0], from_torch[0])
    np.testing.assert_array_equal(from_numpy[1], from_torch[1])


def test_accelerator_paths_equal_cpu_paths():
    # The torch-only code paths (used on CUDA) run here on CPU tensors.
    rng = np.random.default_rng(3)
    heatmaps = rng.random((4, 17, 16, 12)).astype(np.float32)
    flipped = rng.random((4, 17, 16, 12)).astype(np.float32)
    perm = _flip_permutation(17, COCO_FLIP_PAIRS)
    for shift in (True, False):
        expected = flip_average(heatmaps, flipped, COCO_FLIP_PAIRS, shift=shift)
        tensor = _flip_average_torch(
            torch.from_numpy(heatmaps), torch.from_numpy(flipped), perm, shift, inplace=False
        )
        np.testing.assert_allclose(tensor.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(
        _peaks_torch(torch.from_numpy(heatmaps), True).numpy(), _peaks_numpy(heatmaps, True)
    )


def test_flip_average_inplace_writes_into_heatmaps():
    rng = np.random.default_rng(4)
    heatmaps = torch.from_numpy(rng.random((2, 17, 8, 6)).astype(np.float32))
    flipped = torch.from_numpy(rng.random((2, 17, 8, 6)).astype(np.float32))
    expected = flip_average(heatmaps, flipped, COCO_FLIP_PAIRS)
    result = flip_average(heatmaps, flipped, COCO_FLIP_PAIRS, inplace=True)
    assert result is heatmaps
    torch.testing.assert_close(heatmaps, expected)


def test_decode_rejects_mismatched_centers():
    with pytest.raises(ValueError, match=r"centers \(1, 2\) and scales \(2, 2\) must both"):
        decode_heatmaps(np.zeros((2, 1, 8, 8)), np.zeros((1, 2)), np.ones((2, 2)))


def test_flip_back_twice_is_identity_and_swaps_channels():
    rng = np.random.default_rng(2)
    heatmaps = rng.random((2, 17, 8, 6)).astype(np.float32)
    once = flip_back(heatmaps, COCO_FLIP_PAIRS)
    # Left eye (1) of the result is the mirrored right eye (2) of the input.
    np.testing.assert_array_equal(once[:, 1], heatmaps[:, 2, :, ::-1])
    np.testing.assert_array_equal(once[:, 0], heatmaps[:, 0, :, ::-1])
    np.testing.assert_array_equal(flip_back(once, COCO_FLIP_PAIRS), heatmaps)
    as_tensor = flip_back(torch.from_numpy(heatmaps), COCO_FLIP_PAIRS)
    np.testing.assert_array_equal(as_tensor.numpy(), once)


def test_flip_average_shift_moves_one_column_right():
    heatmaps = np.zeros((1, 3, 4, 6), np.float32)
    flipped = np.zeros_like(heatmaps)
    # Flipped column 2 of channel 1 comes back as column 3 of channel 2, then shifts to 4.
    flipped[0, 1, 1, 2] = 1.0
    pairs = [(1, 2)]
    shifted = flip_average(heatmaps, flipped, pairs, shift=True)
    assert shifted[0, 2, 1, 4] == 0.5 and shifted.sum() == 0.5
    unshifted = flip_average(heatmaps, flipped, pairs, shift=False)
    assert unshifted[0, 2, 1, 3] == 0.5 and unshifted.sum() == 0.5
    # Column 0 keeps its own value under the shift (HRNet's slice assignment).
    flipped[0, 0, 0, 5] = 2.0
    edge = flip_average(heatmaps, flipped, pairs, shift=True)
    assert edge[0, 0, 0, 0] == 1.0 and edge[0, 0, 0, 1] == 1.0
    as_tensor = flip_average(torch.from_numpy(heatmaps), torch.from_numpy(flipped), pairs)
    np.testing.assert_array_equal(as_tensor.numpy(), edge)


def test_flip_back_rejects_pairs_outside_keypoints():
    with pytest.raises(ValueError, match=r"flip pair \(1, 5\) is outside 0..2"):
        flip_back(np.zeros((1, 3, 2, 2)), [(1, 5)])
