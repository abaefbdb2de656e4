"""Inference API: load a trained model, estimate the poses of people in an image.

The crop, normalisation, flip test and decoding are those of evaluation
(dypose.data.dataset and dypose.evaluation), so a pose here is the pose that
tools/test.py scores for the same box.
"""

import logging
from typing import Optional, Tuple

import cv2
import numpy as np
import torch
from torch import nn

from dypose.data.dataset import IMAGENET_MEAN, IMAGENET_STD
from dypose.data.keypoints import get_keypoint_info
from dypose.data.transforms import box_to_center_scale, get_affine_transform
from dypose.engine.checkpoint import load_model_weights
from dypose.engine.distributed import select_device
from dypose.evaluation import decode_heatmaps, flip_average
from dypose.models import build_model

logger = logging.getLogger(__name__)


def load_model(cfg, checkpoint: Optional[str] = None) -> nn.Module:
    """Builds the configured network, loads its weights and puts it in eval mode.

    Args:
        cfg: experiment config (MODEL.*, DEVICE).
        checkpoint: a training checkpoint (checkpoint.pth) or bare state_dict
            (model_best.pth, final_state.pth); None or "" uses TEST.MODEL_FILE.

    Returns:
        The model on cfg.DEVICE ("auto": CUDA when available), in eval mode.

    Raises:
        ValueError: no checkpoint given; CheckpointError (a ValueError) when the file is
            unreadable or its keys do not fit the configured model.
    """
    path = checkpoint or cfg.TEST.MODEL_FILE
    if not path:
        raise ValueError("no checkpoint: pass one (e.g. --checkpoint) or set TEST.MODEL_FILE")
    model = build_model(cfg)
    load_model_weights(model, path)
    device = select_device(cfg.DEVICE)
    logger.info("loaded %s on %s", path, device)
    return model.to(device).eval()


def crop_persons(cfg, image: np.ndarray, boxes) -> Tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Crops and normalises each person box as the evaluation dataset does.

    Args:
        cfg: config (MODEL.IMAGE_SIZE, DATASET.COLOR_RGB).
        image: (H, W, 3) uint8 RGB image.
        boxes: (N, 4) person boxes (x, y, w, h), image pixels.

    Returns:
        crops (N, 3, H_in, W_in) float32 ImageNet-normalised, centers (N, 2) float32
        image pixels, scales (N, 2) float32 in units of PIXEL_STD.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"image must be (H, W, 3) uint8 RGB; got {image.shape} {image.dtype}")
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    size = (int(cfg.MODEL.IMAGE_SIZE[0]), int(cfg.MODEL.IMAGE_SIZE[1]))
    # The dataset reads BGR when DATASET.COLOR_RGB is off, and normalises it the same way.
    source = image if cfg.DATASET.COLOR_RGB else np.ascontiguousarray(image[..., ::-1])
    crops = np.zeros((len(boxes), 3, size[1], size[0]), np.float32)
    centers = np.zeros((len(boxes), 2), np.float32)
    scales = np.zeros((len(boxes), 2), np.float32)
    for i, box in enumerate(boxes):
        centers[i], scales[i] = box_to_center_scale(box, size[0] / size[1])
        matrix = get_affine_transform(centers[i], scales[i], 0.0, size)
        crop = cv2.warpAffine(source, matrix, size, flags=cv2.INTER_LINEAR)
        crops[i] = ((crop / 255.0 - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)
    return torch.from_numpy(crops), centers, scales


@torch.inference_mode()
def estimate_heatmaps(model: nn.Module, cfg, crops: torch.Tensor) -> torch.Tensor:
    """Heatmaps (N, K, h, w) of normalised crops, flip-averaged per TEST.FLIP_TEST."""
    device = next(model.parameters()).device
    crops = crops.to(device)
    heatmaps = model(crops).float()
    if cfg.TEST.FLIP_TEST:
        flip_pairs = get_keypoint_info(cfg).flip_pairs
        # The mirrored crop's heatmaps are mirrored back by flip_back inside flip_average.
        flipped = model(crops.flip(3)).float()
        heatmaps = flip_average(heatmaps, flipped, flip_pairs, shift=cfg.TEST.SHIFT_HEATMAP)
    return heatmaps


def estimate_poses(
    model: nn.Module, cfg, image: np.ndarray, boxes, batch_size: Optional[int] = None
) -> Tuple[np.ndarray, np.ndarray]:
    """Estimates each boxed person's keypoints in an image.

    Args:
        model: a pose network in eval mode (see `load_model`).
        cfg: its config (MODEL.*, DATASET.COLOR_RGB, TEST.FLIP_TEST, TEST.SHIFT_HEATMAP,
            TEST.POST_PROCESS).
        image: (H, W, 3) uint8 RGB image.
        boxes: (N, 4) person boxes (x, y, w, h) in image pixels.
        batch_size: crops per forward pass; None uses TEST.BATCH_SIZE_PER_GPU.

    Returns:
        keypoints (N, K, 2) float32 (x, y) image pixels and scores (N, K) float32 heatmap
        peak values.
    """
    crops, centers, scales = crop_persons(cfg, image, boxes)
    num_keypoints = int(cfg.MODEL.NUM_JOINTS)
    if len(crops) == 0:
        return np.zeros((0, num_keypoints, 2), np.float32), np.zeros((0, num_keypoints), np.float32)
    batch_size = batch_size or int(cfg.TEST.BATCH_SIZE_PER_GPU)
    keypoints, scores = [], []
    for start in range(0, len(crops), batch_size):
        stop = start + batch_size
        heatmaps = estimate_heatmaps(model, cfg, crops[start:stop])
        kps, sc = decode_heatmaps(
            heatmaps, centers[start:stop], scales[start:stop], cfg.TEST.POST_PROCESS
        )
        keypoints.append(kps)
        scores.append(sc)
    return np.concatenate(keypoints), np.concatenate(scores)
