"""The top-down keypoint dataset: one person crop, its heatmaps and its meta per item.

One data path serves training and evaluation: a record's center and scale (possibly
augmented) give one affine matrix image -> crop, composed with the optional mirror and
the reduced-decode mapping, and the crop is a single cv2.warpAffine (bilinear).
"""

import logging
import os
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset

from dypose.data import augment, image_io
from dypose.data.coco import annotation_file, load_records
from dypose.data.keypoints import KeypointInfo, get_keypoint_info
from dypose.data.targets import render_targets
from dypose.data.transforms import PIXEL_STD, get_affine_transform, transform_points

logger = logging.getLogger(__name__)

# ImageNet statistics (RGB, on 0-1 pixel values) that the backbones expect.
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
SPLITS = ("train", "val")


class KeypointDataset(Dataset):
    """Person crops of a COCO-format keypoint set.

    Items are (image, target, target_weight, meta):
        image: float32 tensor (3, H, W), ImageNet-normalised RGB crop (MODEL.IMAGE_SIZE).
        target: float32 tensor (K, h, w) Gaussian heatmaps (MODEL.HEATMAP_SIZE).
        target_weight: float32 tensor (K, 1).
        meta: dict of image_id (int), index (int), center (2,) and scale (2,) of the
            crop in the (possibly mirrored) image frame, rotation (degrees), flipped
            (bool), score, area, keypoints (K, 3) crop frame, image_path (str).

    Attributes:
        records: the person records (see `dypose.data.coco.load_records`).
        keypoint_info: the keypoint set's metadata.
        annotation_file: the json path (for COCOeval).
        image_set: the image set name.
        is_train: whether augmentation is on.
    """

    def __init__(
        self,
        cfg,
        image_set: str,
        is_train: bool,
        use_gt_boxes: bool = True,
        records: Optional[List[Dict]] = None,
    ):
        self.cfg = cfg
        self.image_set = image_set
        self.is_train = is_train
        self.keypoint_info: KeypointInfo = get_keypoint_info(cfg)
        self.annotation_file = annotation_file(cfg.DATASET.ROOT, image_set)
        if records is None:
            records = load_records(cfg, image_set, use_gt_boxes=use_gt_boxes)
        self.records = records
        self.image_size = (int(cfg.MODEL.IMAGE_SIZE[0]), int(cfg.MODEL.IMAGE_SIZE[1]))
        self.heatmap_size = (int(cfg.MODEL.HEATMAP_SIZE[0]), int(cfg.MODEL.HEATMAP_SIZE[1]))
        self.stride = (
            self.image_size[0] / self.heatmap_size[0],
            self.image_size[1] / self.heatmap_size[1],
        )
        self.aspect_ratio = self.image_size[0] / self.image_size[1]
        self.sigma = float(cfg.MODEL.SIGMA)
        self.reduced_decode = bool(cfg.DATASET.REDUCED_DECODE)
        self.seed = int(cfg.SEED)
        self.rng = np.random.default_rng(self.seed)
        self._size_warned = set()
        # Per-channel a, b of the normalisation (x / 255 - mean) / std = a x + b.
        self._norm_a = torch.from_numpy(1.0 / (255.0 * IMAGENET_STD)).view(3, 1, 1)
        self._norm_b = torch.from_numpy(-IMAGENET_MEAN / IMAGENET_STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.records)

    def reseed(self, seed: int) -> None:
        """Gives this copy (e.g. in a DataLoader worker) its own random stream."""
        self.rng = np.random.default_rng([self.seed, int(seed)])

    def _augment(self, record: Dict, center, scale) -> Tuple[np.ndarray, np.ndarray, object]:
        data_cfg = self.cfg.DATASET
        keypoints = record["keypoints"]
        labelled = int(np.count_nonzero(keypoints[:, 2] > 0))
        half_body = False
        if (
            labelled > data_cfg.NUM_JOINTS_HALF_BODY
            and self.keypoint_info.upper_body_ids
            and self.rng.random() < data_cfg.PROB_HALF_BODY
        ):
            box = augment.half_body_box(
                keypoints, self.keypoint_info.upper_body_ids, self.aspect_ratio, self.rng
            )
            if box is not None:
                center, scale = box
                half_body = True
        params = augment.sample_params(data_cfg, self.rng)
        params.half_body = half_body
        return center, scale * params.scale_factor, params

    def _reduce_factor(self, path: str, scale) -> int:
        if not (self.reduced_decode and image_io.can_reduce(path)):
            return 1
        # Image pixels per crop pixel; decoding at 1/f loses nothing the warp keeps.
        shrink = float(scale[0]) * PIXEL_STD / self.image_size[0]
        for factor in (4, 2):
            if shrink >= factor:
                return factor
        return 1

    def _read(self, record: Dict, reduce: int) -> Tuple[np.ndarray, int, int]:
        """Reads the image; returns it with the full-size width and height."""
        path = record["image_path"]
        image = image_io.read_image(path, reduce=reduce, rgb=self.cfg.DATASET.COLOR_RGB)
        expected = (record.get("width"), record.get("height"))
        if expected[0] and expected[1]:
            message = image_io.check_size(image.shape, expected, path, reduce)
            if message is None:
                return image, int(expected[0]), int(expected[1])
            if path not in self._size_warned:
                self._size_warned.add(path)
                logger.warning(message)
            if reduce > 1:
                return self._read(dict(record, width=None, height=None), 1)
        return image, image.shape[1], image.shape[0]

    def plan(self, index: int) -> Dict:
        """Step 1 of an item: the record, its (augmented) crop box and the decode factor."""
        record = self.records[index]
        center = np.asarray(record["center"], dtype=np.float32)
        scale = np.asarray(record["scale"], dtype=np.float32)
        params = augment.AugmentParams()
        if self.is_train:
            center, scale, params = self._augment(record, center, scale)
        reduce = self._reduce_factor(record["image_path"], scale)
        return {"record": record, "center": center, "scale": scale, "params": params,
                "reduce": reduce}  # fmt: skip

    def crop(self, image: np.ndarray, plan: Dict, width: int):
        """Step 3: the crop (H, W, 3) uint8 and the keypoints (K, 3) in the crop frame.

        One matrix: reduced pixels -> full image -> (mirror) -> crop, one warpAffine.
        """
        keypoints = np.array(plan["record"]["keypoints"], dtype=np.float32)
        center, params = plan["center"], plan["params"]
        to_full = image_io.reduced_to_full(plan["reduce"])
        if params.flip:
            keypoints = augment.flip_keypoints(keypoints, width, self.keypoint_info.flip_pairs)
            center = np.array([width - 1.0 - center[0], center[1]], dtype=np.float32)
            to_full = augment.flip_matrix(width) @ to_full
        crop_matrix = get_affine_transform(center, plan["scale"], params.rotation, self.image_size)
        crop = cv2.warpAffine(image, crop_matrix @ to_full, self.image_size, flags=cv2.INTER_LINEAR)
        labelled = keypoints[:, 2] > 0
        keypoints[labelled, :2] = transform_points(keypoints[labelled, :2], crop_matrix)
        plan["crop_center"] = center
        return crop, keypoints

    def targets(self, keypoints: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Step 4: heatmaps (K, h, w) and weights (K, 1) of crop-frame keypoints."""
        return render_targets(
            keypoints, self.heatmap_size, self.stride, self.sigma, self.keypoint_info.weights
        )

    def __getitem__(self, index: int):
        plan = self.plan(index)
        record, params = plan["record"], plan["params"]
        image, width, _ = self._read(record, plan["reduce"])
        crop, keypoints = self.crop(image, plan, width)
        target, target_weight = self.targets(keypoints)
        meta = {
            "image_id": int(record["image_id"]),
            "index": int(index),
            "center": plan["crop_center"],
            "scale": np.asarray(plan["scale"], dtype=np.float32),
            "rotation": float(params.rotation),
            "flipped": bool(params.flip),
            "score": float(record["score"]),
            "area": float(record["area"]),
            "keypoints": keypoints,
            "image_path": record["image_path"],
        }
        return (
            self.normalize(crop),
            torch.from_numpy(target),
            torch.from_numpy(target_weight),
            meta,
        )

    def normalize(self, crop: np.ndarray) -> torch.Tensor:
        """uint8 (H, W, 3) crop -> float32 tensor (3, H, W), ImageNet-normalised."""
        chw = torch.from_numpy(crop).permute(2, 0, 1)
        # One converting copy into a contiguous (3, H, W) buffer, then in-place a x + b.
        tensor = chw.to(torch.float32, memory_format=torch.contiguous_format)
        return tensor.mul_(self._norm_a).add_(self._norm_b)


def build_dataset(cfg, split: str) -> KeypointDataset:
    """The dataset of one split.

    Args:
        cfg: experiment config.
        split: "train" (DATASET.TRAIN_SET, augmented, ground-truth boxes) or "val"
            (DATASET.TEST_SET, no augmentation, ground-truth or detector boxes per
            TEST.USE_GT_BBOX).

    Returns:
        A `KeypointDataset`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}; got {split!r}")
    if split == "train":
        return KeypointDataset(cfg, cfg.DATASET.TRAIN_SET, is_train=True, use_gt_boxes=True)
    return KeypointDataset(
        cfg, cfg.DATASET.TEST_SET, is_train=False, use_gt_boxes=bool(cfg.TEST.USE_GT_BBOX)
    )


def worker_init_fn(worker_id: int) -> None:
    """DataLoader worker setup: a distinct, reproducible random stream per worker.

    The worker's torch seed is the loader's base seed (drawn from the loader's
    generator, seeded from cfg.SEED by `build_loader`) plus `worker_id`; the dataset
    copy in the worker mixes it with cfg.SEED. (cv2.setNumThreads is not called here: in
    a forked worker it can deadlock on the parent's thread pool.)
    """
    info = torch.utils.data.get_worker_info()
    if info is not None and hasattr(info.dataset, "reseed"):
        info.dataset.reseed(info.seed % (2**63))
    else:
        np.random.seed((torch.initial_seed() + worker_id) % (2**32))


def build_loader(cfg, dataset: Dataset, train: bool) -> torch.utils.data.DataLoader:
    """A DataLoader with DyPose's settings and reproducible worker seeding.

    Args:
        cfg: config (TRAIN/TEST.BATCH_SIZE_PER_GPU, TRAIN.SHUFFLE, WORKERS,
            PIN_MEMORY, SEED).
        dataset: from `build_dataset`.
        train: training loader (shuffled per TRAIN.SHUFFLE) or evaluation loader
            (in order, so predictions line up with dataset indices).
    """
    generator = torch.Generator()
    generator.manual_seed(int(cfg.SEED))
    batch_size = cfg.TRAIN.BATCH_SIZE_PER_GPU if train else cfg.TEST.BATCH_SIZE_PER_GPU
    workers = int(cfg.WORKERS)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=int(batch_size),
        shuffle=bool(train and cfg.TRAIN.SHUFFLE),
        num_workers=workers,
        pin_memory=bool(cfg.PIN_MEMORY and torch.cuda.is_available()),
        worker_init_fn=worker_init_fn,
        generator=generator,
        persistent_workers=False,
        drop_last=False,
    )


def dataset_summary(dataset: KeypointDataset) -> str:
    """One line describing a dataset, for logs."""
    name = os.path.basename(dataset.annotation_file)
    mode = "train" if dataset.is_train else "val"
    return f"{dataset.image_set} ({mode}): {len(dataset)} person crops from {name}"
