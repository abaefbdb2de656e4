"""Debug image grids written while training (DEBUG.SAVE_* switches)."""

import logging
import math
from typing import List

import cv2
import numpy as np
import torch

from dypose.data.dataset import IMAGENET_MEAN, IMAGENET_STD
from dypose.data.keypoints import SIDE_CENTRE, get_keypoint_info
from dypose.visualization.draw import draw_keypoints, write_image

logger = logging.getLogger(__name__)

# Crops per row of the keypoint grids.
GRID_COLUMNS = 8
# Pixels between grid cells.
GRID_PADDING = 2
# Heatmap overlay: weight of the colour-mapped heatmap over the crop.
HEATMAP_ALPHA = 0.7
# GT keypoints are drawn when visible > 0; this threshold on a 0/1 flag selects them.
_FLAG_THRESHOLD = 0.5


def _to_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().float().cpu().numpy()
    return np.asarray(value)


def denormalize_images(images, color_rgb: bool = True) -> np.ndarray:
    """Undoes the dataset's ImageNet normalisation.

    Args:
        images: (N, 3, H, W) normalised tensor or array.
        color_rgb: False when the channels are BGR (DATASET.COLOR_RGB = False).

    Returns:
        (N, H, W, 3) uint8 RGB images.
    """
    array = _to_numpy(images).transpose(0, 2, 3, 1)
    # Inverse of the dataset's (x / 255 - IMAGENET_MEAN) / IMAGENET_STD.
    array = array * IMAGENET_STD + IMAGENET_MEAN
    array = np.clip(array * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(array if color_rgb else array[..., ::-1])


def heatmap_argmax(heatmaps) -> tuple:
    """Peak of each heatmap.

    Args:
        heatmaps: (N, K, h, w) tensor or array.

    Returns:
        (coords (N, K, 2) float32 (x, y) in the heatmap frame, peaks (N, K) float32).
    """
    array = _to_numpy(heatmaps).astype(np.float32)
    n, k, _, w = array.shape
    flat = array.reshape(n, k, -1)
    index = flat.argmax(axis=2)
    peaks = np.take_along_axis(flat, index[..., None], axis=2)[..., 0]
    coords = np.stack([index % w, index // w], axis=-1).astype(np.float32)
    return coords, peaks


def make_grid(images: np.ndarray, columns: int = GRID_COLUMNS) -> np.ndarray:
    """Tiles (N, H, W, 3) uint8 images into one image, `columns` per row, black gaps."""
    n, h, w, _ = images.shape
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    pad = GRID_PADDING
    grid = np.zeros((rows * (h + pad) + pad, columns * (w + pad) + pad, 3), np.uint8)
    for i in range(n):
        y, x = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        grid[y : y + h, x : x + w] = images[i]
    return grid


def _keypoint_grid(crops, keypoints, flags, skeleton, sides) -> np.ndarray:
    drawn = [
        draw_keypoints(
            crop, kps, flg, skeleton=skeleton, sides=sides, threshold=_FLAG_THRESHOLD, radius=2
        )
        for crop, kps, flg in zip(crops, keypoints, flags)
    ]
    return make_grid(np.stack(drawn))


def heatmap_grid(crops: np.ndarray, heatmaps) -> np.ndarray:
    """One row per person: its crop, then each keypoint's heatmap over the crop.

    Args:
        crops: (N, H, W, 3) uint8 RGB crops.
        heatmaps: (N, K, h, w) heatmaps with values ~[0, 1]; cells are h x w pixels.

    Returns:
        (N * (h + pad) + pad, (K + 1) * (w + pad) + pad, 3) uint8 RGB image.
    """
    maps = _to_numpy(heatmaps)
    n, k, h, w = maps.shape
    cells = np.zeros((n, k + 1, h, w, 3), np.uint8)
    for i in range(n):
        small = cv2.resize(crops[i], (w, h), interpolation=cv2.INTER_AREA)
        cells[i, 0] = small
        scaled = np.clip(maps[i] * 255.0, 0, 255).astype(np.uint8)
        for j in range(k):
            colour = cv2.applyColorMap(scaled[j], cv2.COLORMAP_JET)[..., ::-1]
            blend = HEATMAP_ALPHA * colour + (1.0 - HEATMAP_ALPHA) * small
            cells[i, j + 1] = blend.astype(np.uint8)
    return make_grid(cells.reshape(n * (k + 1), h, w, 3), columns=k + 1)


def _skeleton_and_sides(cfg, num_keypoints: int):
    """The configured keypoint set's drawing metadata; none when the output's K differs."""
    info = get_keypoint_info(cfg)
    if info.num_keypoints != num_keypoints:
        return [], [SIDE_CENTRE] * num_keypoints
    return list(info.skeleton), list(info.sides)


def save_debug_images(cfg, images, meta: dict, target, output, prefix: str) -> List[str]:
    """Writes the training debug grids that cfg.DEBUG switches on.

    Files: f"{prefix}_gt.jpg" (crops with GT keypoints, DEBUG.SAVE_BATCH_IMAGES_GT),
    f"{prefix}_pred.jpg" (crops with heatmap-argmax keypoints x stride,
    SAVE_BATCH_IMAGES_PRED), f"{prefix}_hm_gt.jpg" and f"{prefix}_hm_pred.jpg" (heatmaps
    over the crops, SAVE_HEATMAPS_GT / _PRED). Nothing is written unless DEBUG.DEBUG.

    Args:
        cfg: the experiment config.
        images: (N, 3, H, W) ImageNet-normalised batch (crop frame).
        meta: the batch's meta dict; meta["keypoints"] (N, K, 3) crop frame, x, y,
            visibility (drawn where visibility > 0).
        target: (N, K, h, w) ground-truth heatmaps.
        output: (N, K, h, w) predicted heatmaps.
        prefix: path prefix, e.g. "<output dir>/train_0_100".

    Returns:
        The paths written.
    """
    if not cfg.DEBUG.DEBUG:
        return []
    debug = cfg.DEBUG
    crops = denormalize_images(images, cfg.DATASET.COLOR_RGB)
    num_keypoints = int(_to_numpy(output).shape[1])
    skeleton, sides = _skeleton_and_sides(cfg, num_keypoints)
    written = []

    def save(suffix: str, make) -> None:
        path = f"{prefix}_{suffix}.jpg"
        write_image(path, make())
        written.append(path)

    if debug.SAVE_BATCH_IMAGES_GT:
        gt = _to_numpy(meta["keypoints"])
        flags = (gt[..., 2] > 0).astype(np.float32)
        save("gt", lambda: _keypoint_grid(crops, gt[..., :2], flags, skeleton, sides))
    if debug.SAVE_BATCH_IMAGES_PRED:
        coords, peaks = heatmap_argmax(output)
        # Heatmap -> crop frame: stride = input pixels per heatmap pixel, no offset.
        stride = np.asarray(cfg.MODEL.IMAGE_SIZE, np.float32) / np.asarray(
            cfg.MODEL.HEATMAP_SIZE, np.float32
        )
        flags = (peaks > 0).astype(np.float32)
        save("pred", lambda: _keypoint_grid(crops, coords * stride, flags, skeleton, sides))
    if debug.SAVE_HEATMAPS_GT:
        save("hm_gt", lambda: heatmap_grid(crops, target))
    if debug.SAVE_HEATMAPS_PRED:
        save("hm_pred", lambda: heatmap_grid(crops, output))
    logger.debug("debug images: %s", ", ".join(written))
    return written
