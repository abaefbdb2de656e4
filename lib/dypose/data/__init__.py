"""COCO-format keypoint data: records, crops, targets, keypoint metadata, synthetic data.

Public entry points:
    build_dataset(cfg, split) -> KeypointDataset     ("train" or "val")
    build_loader(cfg, dataset, train) -> DataLoader  (seeded workers, DyPose settings)
    worker_init_fn(worker_id)                        (for hand-built DataLoaders)
    check_images(records) -> [(path, reason)]        (preflight for tools' --check)
    read_image(path) -> uint8 (H, W, 3) RGB
    load_records(cfg, image_set, use_gt_boxes=True) -> list of person records
    get_keypoint_info(cfg) -> KeypointInfo
    generate_synthetic(root, num_train, num_val, seed) (in dypose.data.synthetic)
"""

from dypose.data.coco import AnnotationError, annotation_file, load_records
from dypose.data.dataset import (
    KeypointDataset,
    build_dataset,
    build_loader,
    worker_init_fn,
)
from dypose.data.image_io import ImageReadError, check_images, read_image
from dypose.data.keypoints import KeypointInfo, KeypointSetError, get_keypoint_info

__all__ = [
    "AnnotationError",
    "ImageReadError",
    "KeypointDataset",
    "KeypointInfo",
    "KeypointSetError",
    "annotation_file",
    "build_dataset",
    "build_loader",
    "check_images",
    "get_keypoint_info",
    "load_records",
    "read_image",
    "worker_init_fn",
]
