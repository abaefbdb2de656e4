"""Running a pose network over an evaluation loader: flip test and decoding."""

import logging
from typing import Dict, List, Sequence

import numpy as np
import torch

from dypose.evaluation.heatmaps import decode_heatmaps, flip_average

logger = logging.getLogger(__name__)

# Meta fields `predict` reads from each batch, and the output key each becomes.
META_FIELDS = {
    "center": "centers",
    "scale": "scales",
    "area": "areas",
    "score": "scores",
    "image_id": "image_ids",
    "index": "indices",
}
META_DTYPES = {
    "centers": np.float32,
    "scales": np.float32,
    "areas": np.float32,
    "scores": np.float32,
    "image_ids": np.int64,
    "indices": np.int64,
}


def _flip_pairs(loader, cfg, keypoint_info) -> Sequence[Sequence[int]]:
    """Flip pairs from the given KeypointInfo, else the dataset's, else the config's."""
    info = keypoint_info or getattr(loader.dataset, "keypoint_info", None)
    if info is None:
        from dypose.data.keypoints import get_keypoint_info

        info = get_keypoint_info(cfg)
    return info.flip_pairs


def _forward(model: torch.nn.Module, images: torch.Tensor) -> torch.Tensor:
    output = model(images)
    # Multi-stage networks return a list of heatmaps; the last stage is the prediction.
    if isinstance(output, (list, tuple)):
        output = output[-1]
    return output.float()


def _meta_column(meta: Dict, field: str, batch_size: int, dtype) -> np.ndarray:
    if field not in meta:
        raise KeyError(
            f"evaluation batches need meta['{field}'] (the dataset item's meta dict has "
            f"{sorted(meta)})"
        )
    value = meta[field]
    if isinstance(value, torch.Tensor):
        value = value.cpu().numpy()
    value = np.asarray(value, dtype=dtype)
    if value.shape[0] != batch_size:
        raise ValueError(f"meta['{field}'] has {value.shape[0]} rows for {batch_size} images")
    return value


@torch.inference_mode()
def _predict_batch(model, images, flip_pairs, cfg, autocast: bool) -> torch.Tensor:
    """(B, K, h, w) float32 heatmaps of one batch, flip-averaged when flip_pairs is set."""
    with torch.autocast(device_type=images.device.type, enabled=autocast):
        heatmaps = _forward(model, images)
        if flip_pairs is None:
            return heatmaps
        # The mirrored crop's heatmaps come back through flip_back (inside flip_average).
        flipped = _forward(model, images.flip(3))
    # In place: the network's output is a fresh tensor that only this function holds.
    return flip_average(heatmaps, flipped, flip_pairs, shift=cfg.TEST.SHIFT_HEATMAP, inplace=True)


def predict(
    model: torch.nn.Module,
    loader: torch.utils.data.DataLoader,
    cfg,
    device,
    keypoint_info=None,
) -> Dict[str, np.ndarray]:
    """Runs the model over an evaluation loader and decodes image-frame keypoints.

    Heatmaps stay on `device`: flip averaging, argmax and the quarter-pixel step run
    there and only (B, K, 3) numbers per batch come back. TEST.FLIP_TEST,
    TEST.SHIFT_HEATMAP, TEST.POST_PROCESS and TEST.AMP (CUDA only) apply.

    Args:
        model: (B, 3, H, W) normalised crops -> (B, K, h, w) heatmaps.
        loader: yields (image, target, target_weight, meta) batches as
            `dypose.data.build_dataset(cfg, "val")` items collated.
        cfg: the experiment config.
        device: torch device (or its name) the model lives on.
        keypoint_info: flip pairs source; defaults to `loader.dataset.keypoint_info`.

    Returns:
        numpy dict: "keypoints" (N, K, 3) float32 x, y (image pixels), peak value;
        "centers" (N, 2), "scales" (N, 2), "areas" (N,), "scores" (N,) box scores,
        "image_ids" (N,) int64, "indices" (N,) int64 dataset indices.
    """
    device = torch.device(device)
    flip_pairs = _flip_pairs(loader, cfg, keypoint_info) if cfg.TEST.FLIP_TEST else None
    autocast = bool(cfg.TEST.AMP) and device.type == "cuda"
    was_training = model.training
    model.eval()
    parts: Dict[str, List[np.ndarray]] = {key: [] for key in ["keypoints", *META_DTYPES]}
    try:
        for step, (images, _, _, meta) in enumerate(loader):
            images = images.to(device, non_blocking=True)
            heatmaps = _predict_batch(model, images, flip_pairs, cfg, autocast)
            columns = {
                key: _meta_column(meta, field, images.shape[0], META_DTYPES[key])
                for field, key in META_FIELDS.items()
            }
            coords, peaks = decode_heatmaps(
                heatmaps, columns["centers"], columns["scales"], cfg.TEST.POST_PROCESS
            )
            parts["keypoints"].append(np.concatenate([coords, peaks[..., None]], axis=2))
            for key, value in columns.items():
                parts[key].append(value)
            if (step + 1) % max(1, cfg.PRINT_FREQ) == 0:
                logger.info("test: batch %d/%d", step + 1, len(loader))
    finally:
        model.train(was_training)
    return _concatenate(parts, cfg.MODEL.NUM_JOINTS)


def _concatenate(parts: Dict[str, List[np.ndarray]], num_keypoints: int) -> Dict[str, np.ndarray]:
    if parts["keypoints"]:
        return {key: np.concatenate(values, axis=0) for key, values in parts.items()}
    logger.warning("the evaluation loader yielded no batches: no predictions")
    empty = {key: np.zeros((0, 2) if key in ("centers", "scales") else (0,), dtype)
             for key, dtype in META_DTYPES.items()}  # fmt: skip
    empty["keypoints"] = np.zeros((0, num_keypoints, 3), np.float32)
    return empty
