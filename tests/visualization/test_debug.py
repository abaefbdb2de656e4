"""Training debug grids from random tensors."""

import cv2
import numpy as np
import torch

from dypose.config import get_config
from dypose.visualization.debug import (
    GRID_PADDING,
    IMAGENET_MEAN,
    IMAGENET_STD,
    denormalize_images,
    heatmap_argmax,
    heatmap_grid,
    save_debug_images,
)

ALL_ON = [
    "DEBUG.DEBUG", "True", "DEBUG.SAVE_BATCH_IMAGES_GT", "True",
    "DEBUG.SAVE_BATCH_IMAGES_PRED", "True", "DEBUG.SAVE_HEATMAPS_GT", "True",
    "DEBUG.SAVE_HEATMAPS_PRED", "True", "MODEL.IMAGE_SIZE", "[48, 64]",
    "MODEL.HEATMAP_SIZE", "[12, 16]",
]  # fmt: skip


def _normalise(rgb_uint8: np.ndarray) -> torch.Tensor:
    x = rgb_uint8.astype(np.float32) / 255.0
    x = (x - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return torch.from_numpy(x.transpose(0, 3, 1, 2).copy())


def test_denormalize_round_trip_and_bgr():
    rgb = np.random.default_rng(0).integers(0, 256, (2, 8, 6, 3), dtype=np.uint8)
    back = denormalize_images(_normalise(rgb))
    assert np.abs(back.astype(int) - rgb).max() <= 1
    assert np.array_equal(denormalize_images(_normalise(rgb), color_rgb=False), back[..., ::-1])


def test_heatmap_argmax():
    maps = torch.zeros(1, 2, 5, 7)
    maps[0, 0, 3, 6] = 0.8
    maps[0, 1, 1, 2] = 0.4
    coords, peaks = heatmap_argmax(maps)
    assert coords[0].tolist() == [[6, 3], [2, 1]]
    assert np.allclose(peaks[0], [0.8, 0.4])


def test_heatmap_grid_layout():
    crops = np.zeros((3, 64, 48, 3), np.uint8)
    grid = heatmap_grid(crops, np.zeros((3, 5, 16, 12), np.float32))
    pad = GRID_PADDING
    assert grid.shape == (3 * (16 + pad) + pad, 6 * (12 + pad) + pad, 3)


def test_save_debug_images_writes_switched_files(tmp_path):
    cfg = get_config(None, ALL_ON)
    n, k = 3, 17
    rng = np.random.default_rng(1)
    images = _normalise(np.zeros((n, 64, 48, 3), np.uint8))  # black crops
    keypoints = np.zeros((n, k, 3), np.float32)
    keypoints[:, :, :2] = rng.uniform(8, 40, (n, k, 2))
    keypoints[0, 0] = [24, 20, 1]
    keypoints[0, 1] = [24, 50, 0]  # unlabelled: not drawn
    output = torch.zeros(n, k, 16, 12)
    output[0, 0, 10, 3] = 1.0  # predicted keypoint at crop (12, 40), stride 4
    target = torch.rand(n, k, 16, 12)
    prefix = str(tmp_path / "train_0_0")

    written = save_debug_images(
        cfg, images, {"keypoints": torch.from_numpy(keypoints)}, target, output, prefix
    )

    names = sorted(p.rsplit("/", 1)[1] for p in written)
    assert names == sorted(f"train_0_0_{s}.jpg" for s in ("gt", "pred", "hm_gt", "hm_pred"))
    gt = cv2.imread(prefix + "_gt.jpg")
    pad = GRID_PADDING
    assert gt.shape == (64 + 2 * pad, 3 * (48 + pad) + pad, 3)
    assert gt[pad + 20, pad + 24].max() > 100  # visible GT keypoint drawn
    assert gt[pad + 50, pad + 24].max() < 30  # unlabelled one not drawn
    pred = cv2.imread(prefix + "_pred.jpg")
    assert pred[pad + 40, pad + 12].max() > 100
    hm = cv2.imread(prefix + "_hm_pred.jpg")
    assert hm.shape == (n * (16 + pad) + pad, (k + 1) * (12 + pad) + pad, 3)


def test_save_debug_images_off_by_default(tmp_path):
    cfg = get_config(None, ALL_ON[2:])  # every switch on except the master DEBUG.DEBUG
    written = save_debug_images(
        cfg, torch.zeros(1, 3, 64, 48), {"keypoints": torch.zeros(1, 17, 3)},
        torch.zeros(1, 17, 16, 12), torch.zeros(1, 17, 16, 12), str(tmp_path / "x"),
    )  # fmt: skip
    assert written == [] and not list(tmp_path.iterdir())
