"""Gaussian heatmap targets, rendered for all keypoints at once.

Each labelled keypoint gets a Gaussian of `sigma` heatmap pixels centred at its
rounded heatmap cell (heatmap coordinate = crop coordinate / stride, no half-pixel
offset: HRNet's convention, undone by `dypose.evaluation.decode_heatmaps`). The
Gaussian is cut to a window of floor(3 sigma) cells each side. A keypoint whose window
lies wholly outside the heatmap gets weight 0; one just outside keeps the part of its
window that falls inside. Nothing is clamped onto the border.

The values equal those of the straightforward per-keypoint loop (a (2r+1)^2 patch of
float64 exp(-(dx^2 + dy^2) / (2 sigma^2)) pasted into a float32 map): the patch is
computed once and the window cells of all keypoints are scattered in one step, so the
two agree bit for bit.
"""

from functools import lru_cache
from typing import Sequence, Tuple

import numpy as np

# Window half-width in sigmas (HRNet's tmp_size = 3 sigma).
WINDOW_SIGMAS = 3


@lru_cache(maxsize=8)
def gaussian_patch(sigma: float) -> Tuple[int, np.ndarray]:
    """The window radius r and the flattened float32 (2r+1)^2 Gaussian patch."""
    radius = int(WINDOW_SIGMAS * sigma)
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    patch = np.exp(-(offsets[None, :] ** 2 + offsets[:, None] ** 2) / (2.0 * sigma**2))
    patch = patch.astype(np.float32).ravel()
    patch.setflags(write=False)
    return radius, patch


def heatmap_cells(keypoints: np.ndarray, stride: Sequence[float]) -> np.ndarray:
    """Rounded heatmap cells (K, 2) int64 of crop-frame keypoints (K, >=2)."""
    scaled = keypoints[:, :2] / np.asarray(stride, dtype=np.float64)
    return np.floor(scaled + 0.5).astype(np.int64)


def render_targets(
    keypoints: np.ndarray,
    heatmap_size: Sequence[int],
    stride: Sequence[float],
    sigma: float,
    weights: np.ndarray = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Renders Gaussian targets and their weights.

    Args:
        keypoints: (K, 3) crop frame x, y in input pixels, v (> 0 means labelled).
        heatmap_size: (w, h) heatmap pixels.
        stride: (sx, sy) input pixels per heatmap pixel.
        sigma: Gaussian sigma in heatmap pixels.
        weights: optional (K,) per-keypoint loss weights multiplied into the result.

    Returns:
        target float32 (K, h, w) and target_weight float32 (K, 1).
    """
    width, height = int(heatmap_size[0]), int(heatmap_size[1])
    radius, patch = gaussian_patch(float(sigma))
    num_keypoints = len(keypoints)
    cells = heatmap_cells(keypoints, stride)

    # Heatmap columns and rows of every window cell, (K, 2r+1) each.
    offsets = np.arange(-radius, radius + 1)
    cols = cells[:, :1] + offsets
    rows = cells[:, 1:2] + offsets
    in_x = (cols >= 0) & (cols < width)
    in_y = (rows >= 0) & (rows < height)
    labelled = keypoints[:, 2] > 0
    visible = labelled & in_x.any(axis=1) & in_y.any(axis=1)

    # Scatter only the window cells that land inside: (K, 2r+1, 2r+1) flat indices.
    inside = (in_y & visible[:, None])[:, :, None] & in_x[:, None, :]
    base = np.arange(num_keypoints)[:, None, None] * (height * width)
    flat = base + rows[:, :, None] * width + cols[:, None, :]
    target = np.zeros((num_keypoints, height, width), dtype=np.float32)
    values = np.broadcast_to(patch.reshape(1, 2 * radius + 1, 2 * radius + 1), inside.shape)
    target.ravel()[flat[inside]] = values[inside]

    target_weight = visible.astype(np.float32)
    if weights is not None:
        target_weight *= np.asarray(weights, dtype=np.float32)
    return target, target_weight[:, None]
