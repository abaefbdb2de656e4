"""Training-time keypoint accuracy: PCK on heatmap peaks, as HRNet's accuracy()."""

from typing import Tuple

import numpy as np

# A keypoint is correct when its peak lies within this fraction of the normaliser
# (one tenth of the heatmap size per axis), HRNet's PCK@0.5 on heatmaps.
PCK_THRESHOLD = 0.5
# The normaliser is the heatmap size divided by this (HRNet's choice).
NORM_DIVISOR = 10.0
# Peaks at or below this coordinate (in heatmap pixels) mark unlabelled targets.
MIN_VALID_COORD = 1.0


def heatmap_peaks(heatmaps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Argmax of each heatmap.

    Args:
        heatmaps: (N, K, h, w) array.

    Returns:
        peaks (N, K, 2) as (x, y) heatmap pixels, float32, set to 0 where the maximum
        is not positive; maxvals (N, K) float32.
    """
    n, k, _, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, -1)
    idx = flat.argmax(axis=2)
    maxvals = flat.max(axis=2).astype(np.float32)
    peaks = np.stack([idx % w, idx // w], axis=2).astype(np.float32)
    peaks *= (maxvals > 0)[..., None]
    return peaks, maxvals


def keypoint_accuracy(
    output: np.ndarray, target: np.ndarray
) -> Tuple[np.ndarray, float, int, np.ndarray]:
    """PCK of predicted heatmap peaks against target heatmap peaks.

    Args:
        output: predicted heatmaps (N, K, h, w).
        target: target heatmaps (N, K, h, w); keypoints whose target peak lies at a
            coordinate <= 1 (all-zero heatmaps) are not counted.

    Returns:
        per-keypoint accuracy (K,) (-1 where no keypoint was counted), the mean over
        counted keypoints (0 when none), the number of keypoints with a value, and
        the predicted peaks (N, K, 2) in heatmap pixels.
    """
    h, w = output.shape[2:]
    pred, _ = heatmap_peaks(output)
    gt, _ = heatmap_peaks(target)
    norm = np.array([w, h], dtype=np.float32) / NORM_DIVISOR

    valid = np.all(gt > MIN_VALID_COORD, axis=2)  # (N, K)
    dists = np.linalg.norm((pred - gt) / norm, axis=2)
    counted = valid.sum(axis=0)
    correct = ((dists < PCK_THRESHOLD) & valid).sum(axis=0)
    per_keypoint = np.where(counted > 0, correct / np.maximum(counted, 1), -1.0)

    has_value = counted > 0
    mean = float(per_keypoint[has_value].mean()) if has_value.any() else 0.0
    return per_keypoint.astype(np.float32), mean, int(has_value.sum()), pred
