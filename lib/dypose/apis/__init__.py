"""Inference API: load a trained model and estimate poses in images.

load_model(cfg, checkpoint) -> model in eval mode on cfg.DEVICE
estimate_poses(model, cfg, image, boxes) -> keypoints (N, K, 2), scores (N, K)
"""

from dypose.apis.inference import crop_persons, estimate_heatmaps, estimate_poses, load_model
from dypose.apis.visualize import (
    collect_images,
    crop_batches,
    draw_results_file,
    person_boxes,
    visualize_images,
)

__all__ = [
    "collect_images",
    "crop_batches",
    "crop_persons",
    "draw_results_file",
    "estimate_heatmaps",
    "estimate_poses",
    "load_model",
    "person_boxes",
    "visualize_images",
]
