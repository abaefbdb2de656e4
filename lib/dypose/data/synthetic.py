"""A small COCO-format person-keypoint dataset made from scratch (the demo's default).

Layout under `root` (that of a COCO download, so every DyPose tool reads it unchanged):
    annotations/person_keypoints_train_synth.json
    annotations/person_keypoints_val_synth.json
    images/train_synth/*.jpg, images/val_synth/*.jpg
    person_detection_results/val_synth_detections.json

Each image shows one to four articulated figures (see `synthetic_figure`) on a
textured, cluttered background. Everything is a function of (seed, image set, image
index), so any image can be regenerated alone and the output does not depend on
how the work is split.
"""

import json
import logging
import math
import os
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np

from dypose.data import synthetic_figure as fig
from dypose.data.keypoints import (
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    COCO_SKELETON_1BASED,
    SIDE_COLORS,
    make_keypoint_info,
)
from dypose.utils.io import atomic_write_text

logger = logging.getLogger(__name__)

TRAIN_SET, VAL_SET = "train_synth", "val_synth"
DETECTIONS_FILE = "val_synth_detections.json"
# Image sizes (W, H): landscape 4:3 from 320x240 to 640x480; portrait ones are swapped.
IMAGE_SIZES = ((320, 240), (400, 300), (480, 360), (560, 420), (640, 480))
PORTRAIT_PROBABILITY = 0.25
JPEG_QUALITY = 90
MAX_PERSONS = 4
# A person is annotated only when at least this many keypoints land inside the image.
MIN_KEYPOINTS_INSIDE = 6
# Detector simulation: miss rate, box-edge noise (fraction of box size), false positives.
DET_MISS_RATE = 0.08
DET_EDGE_NOISE = 0.06
DET_MAX_FALSE_POSITIVES = 2
# Annotated area as a fraction of the box area (at least; see render_image).
AREA_PER_BOX_AREA = 0.55
# Set indices mixed into the seed so train and val images differ.
_SET_INDEX = {TRAIN_SET: 1, VAL_SET: 2}
_VAL_ID_OFFSET = 1_000_000


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """Smooth colour blobs, blocky texture and random clutter shapes (RGB uint8)."""
    small = rng.integers(0, 256, (height // 40 + 2, width // 40 + 2, 3), dtype=np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    tint = rng.integers(60, 200, 3)
    image = (image * 0.35 + tint * 0.65).astype(np.uint8)
    grain = rng.integers(-10, 11, (height // 3 + 1, width // 3 + 1, 1), dtype=np.int16)
    grain = np.repeat(np.repeat(grain, 3, axis=0), 3, axis=1)[:height, :width]
    image = np.clip(image.astype(np.int16) + grain, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(4, 12))):
        _clutter(rng, image)
    return image


def _clutter(rng: np.random.Generator, image: np.ndarray) -> None:
    height, width = image.shape[:2]
    color = tuple(int(c) for c in rng.integers(0, 256, 3))
    x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
    size = int(rng.integers(8, max(9, min(width, height) // 4)))
    kind = rng.integers(5)
    if kind == 0:
        cv2.rectangle(image, (x, y), (x + size, y + int(size * rng.uniform(0.3, 2))), color, -1)
    elif kind == 1:
        cv2.circle(image, (x, y), size // 2, color, -1, cv2.LINE_AA)
    elif kind == 2:
        angle = rng.uniform(0, 180)
        cv2.ellipse(image, (x, y), (size, size // 3), angle, 0, 360, color, -1, cv2.LINE_AA)
    elif kind == 3:
        end = (x + int(rng.integers(-size, size)), y + int(rng.integers(-size, size)))
        cv2.line(image, (x, y), end, color, int(rng.integers(2, 7)), cv2.LINE_AA)
    else:
        step = int(rng.integers(4, 10))
        for offset in range(0, size, step * 2):
            cv2.line(image, (x + offset, y), (x + offset, y + size), color, step // 2 + 1)


def _place(rng, width: int, height: int, num_persons: int, slot: int):
    """Person height (px), pelvis position and in-plane angle (degrees).

    Each person gets its own vertical strip of the image (`slot` of `num_persons`), so
    that people overlap at their edges, as in photos, rather than piling up.
    """
    low, high = (0.45, 0.95) if num_persons == 1 else (0.35, 0.8)
    person_h = rng.uniform(low, high) * min(height * 1.1, width * 1.4)
    x = (slot + rng.uniform(0.15, 0.85)) / num_persons
    center = np.array([np.clip(x, 0.08, 0.92) * width, rng.uniform(0.35, 0.75) * height])
    angle = rng.normal(0, 15) if rng.random() < 0.85 else rng.uniform(-90, 90)
    return person_h, center, float(np.clip(angle, -90, 90))


def render_image(rng: np.random.Generator, width: int, height: int):
    """One image and its persons: (RGB image, list of (keypoints list, box, area))."""
    image = _background(rng, width, height)
    labels = np.zeros((height, width), dtype=np.uint8)
    figures = []
    num_persons = int(rng.integers(1, MAX_PERSONS + 1))
    slots = rng.permutation(num_persons)
    for person in range(num_persons):
        pose = fig.sample_pose(rng)
        body_points, depth = fig.pose_joints(pose)
        for _ in range(5):  # re-place a figure that would land mostly outside the image
            person_h, center, angle = _place(rng, width, height, num_persons, slots[person])
            joints = fig.place_figure(pose, body_points, center, person_h, angle)
            inside = (joints[:, 0] >= 0) & (joints[:, 0] < width - 0.5)
            inside &= (joints[:, 1] >= 0) & (joints[:, 1] < height - 0.5)
            if inside.sum() >= MIN_KEYPOINTS_INSIDE:
                break
        else:
            continue
        painter = fig.FigurePainter(image, labels, person, rng)
        fig.draw_figure(painter, pose, joints, depth, person_h)
        figures.append((person, pose, joints, depth, person_h))

    pixel_counts = np.bincount(labels.ravel(), minlength=256)
    persons = []
    for person, pose, joints, depth, person_h in figures:
        keypoints = fig.visibility(labels, joints, depth, person)
        x1, y1, x2, y2 = fig.figure_extent(joints, pose, person_h)
        x1, y1 = max(0.0, x1), max(0.0, y1)
        x2, y2 = min(width - 1.0, x2), min(height - 1.0, y2)
        base = person * fig.PARTS_PER_PERSON + 1
        drawn = float(pixel_counts[base : base + fig.PARTS_PER_PERSON - 1].sum())
        box = [round(x1, 2), round(y1, 2), round(x2 - x1, 2), round(y2 - y1, 2)]
        # Segmentation-like area (OKS scale): real COCO persons cover about half their
        # box, and stick figures less, so the larger of the drawn pixels and that.
        area = max(drawn, AREA_PER_BOX_AREA * box[2] * box[3], 2.0)
        persons.append((keypoints, box, area))
    return image, persons


def _image_rng(seed: int, image_set: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, _SET_INDEX[image_set], index])


def _image_size(rng) -> tuple:
    width, height = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    return (height, width) if rng.random() < PORTRAIT_PROBABILITY else (width, height)


def _categories() -> List[Dict]:
    return [
        {
            "supercategory": "person",
            "id": 1,
            "name": "person",
            "keypoints": list(COCO_KEYPOINT_NAMES),
            "skeleton": [list(edge) for edge in COCO_SKELETON_1BASED],
        }
    ]


def generate_image_set(root: str, image_set: str, num_images: int, seed: int = 0) -> Dict:
    """Writes the images of one set and returns its COCO json dict (not yet saved)."""
    folder = os.path.join(root, "images", image_set)
    os.makedirs(folder, exist_ok=True)
    id_offset = _VAL_ID_OFFSET if image_set == VAL_SET else 0
    images, annotations = [], []
    for index in range(num_images):
        rng = _image_rng(seed, image_set, index)
        width, height = _image_size(rng)
        image, persons = render_image(rng, width, height)
        image_id = id_offset + index + 1
        file_name = f"{image_set}_{index:06d}.jpg"
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(os.path.join(folder, file_name), bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        images.append({"id": image_id, "file_name": file_name, "width": width, "height": height})
        for keypoints, box, area in persons:
            annotations.append(
                {
                    "id": image_id * 10 + len(annotations) % 10,
                    "image_id": image_id,
                    "category_id": 1,
                    "bbox": box,
                    "area": round(area, 2),
                    "iscrowd": 0,
                    "keypoints": keypoints,
                    "num_keypoints": int(sum(1 for v in keypoints[2::3] if v > 0)),
                }
            )
    # Annotation ids must be unique: renumber in order.
    for number, ann in enumerate(annotations, start=1):
        ann["id"] = number
    return {
        "info": {"description": f"DyPose synthetic persons ({image_set}, seed {seed})"},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": _categories(),
    }


def simulate_detections(coco: Dict, seed: int = 0) -> List[Dict]:
    """Noisy person boxes for every image: jittered true boxes, misses and false positives."""
    rng = np.random.default_rng([seed, 99])
    by_image = {img["id"]: [] for img in coco["images"]}
    for ann in coco["annotations"]:
        by_image[ann["image_id"]].append(ann)
    detections = []
    for image in coco["images"]:
        width, height = image["width"], image["height"]
        for ann in by_image[image["id"]]:
            if rng.random() < DET_MISS_RATE:
                continue
            x, y, w, h = ann["bbox"]
            noise = rng.normal(0, DET_EDGE_NOISE, 4) * [w, h, w, h]
            x1, y1 = max(0.0, x + noise[0]), max(0.0, y + noise[1])
            x2, y2 = min(width - 1.0, x + w + noise[2]), min(height - 1.0, y + h + noise[3])
            if x2 - x1 < 2 or y2 - y1 < 2:
                continue
            quality = math.exp(-float(np.abs(noise).sum()) / (w + h + 1e-6) * 4)
            score = float(np.clip(0.55 + 0.45 * quality * rng.uniform(0.7, 1.0), 0, 1))
            detections.append(_detection(image["id"], [x1, y1, x2 - x1, y2 - y1], score))
        for _ in range(int(rng.integers(0, DET_MAX_FALSE_POSITIVES + 1))):
            w, h = rng.uniform(0.1, 0.4) * width, rng.uniform(0.2, 0.7) * height
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            detections.append(_detection(image["id"], [x, y, w, h], rng.uniform(0.05, 0.6)))
    return detections


def _detection(image_id: int, box: Sequence[float], score: float) -> Dict:
    return {
        "image_id": int(image_id),
        "category_id": 1,
        "bbox": [round(float(v), 2) for v in box],
        "score": round(float(score), 4),
    }


def generate_synthetic(
    root: str, num_train: int = 1000, num_val: int = 200, seed: int = 0
) -> Dict[str, str]:
    """Writes the synthetic dataset under `root` (deterministic from `seed`).

    Args:
        root: output folder (DATASET.ROOT for the demo configs).
        num_train: images in train_synth.
        num_val: images in val_synth.
        seed: random seed; the same seed gives the same files.

    Returns:
        Paths of the written json files: {"train_synth", "val_synth", "detections"}.

    Raises:
        ValueError: an empty `root`, a negative image count, or a `root` that is a file.
    """
    if not root:
        raise ValueError("synthetic dataset root is empty; give a folder, e.g. data/synthetic")
    if os.path.exists(root) and not os.path.isdir(root):
        raise ValueError(f"synthetic dataset root {root} is a file; give a folder")
    for name, count in (("num_train", num_train), ("num_val", num_val)):
        if count < 1:
            raise ValueError(f"{name} must be at least 1 image; got {count}")
    paths = {}
    for image_set, count in ((TRAIN_SET, num_train), (VAL_SET, num_val)):
        coco = generate_image_set(root, image_set, count, seed)
        path = os.path.join(root, "annotations", f"person_keypoints_{image_set}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write_text(path, json.dumps(coco))
        paths[image_set] = path
        logger.info(
            "%s: %d images, %d persons -> %s",
            image_set, len(coco["images"]), len(coco["annotations"]), path,
        )  # fmt: skip
        if image_set == VAL_SET:
            det_path = os.path.join(root, "person_detection_results", DETECTIONS_FILE)
            os.makedirs(os.path.dirname(det_path), exist_ok=True)
            atomic_write_text(det_path, json.dumps(simulate_detections(coco, seed)))
            paths["detections"] = det_path
    return paths


def draw_annotations(image: np.ndarray, keypoints: Sequence[float]) -> None:
    """Draws one person's COCO keypoints (flat x, y, v list) in place; v=1 hollow."""
    info = make_keypoint_info(len(COCO_KEYPOINT_NAMES))
    points = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    for a, b in COCO_SKELETON:
        if points[a, 2] > 0 and points[b, 2] > 0:
            color = SIDE_COLORS[info.sides[b]]
            pa, pb = tuple(int(v) for v in points[a, :2]), tuple(int(v) for v in points[b, :2])
            cv2.line(image, pa, pb, color, 1, cv2.LINE_AA)
    for (x, y, v), side in zip(points, info.sides):
        if v > 0:
            filled = -1 if v == 2 else 1
            cv2.circle(image, (int(x), int(y)), 3, SIDE_COLORS[side], filled, cv2.LINE_AA)
            cv2.circle(image, (int(x), int(y)), 3, (0, 0, 0), 1, cv2.LINE_AA)


def preview_grid(
    seed: int = 0, count: int = 6, columns: int = 3, tile=(320, 240), path: Optional[str] = None
) -> np.ndarray:
    """A grid of freshly rendered val images with their keypoints drawn (RGB uint8)."""
    tiles = []
    for index in range(count):
        rng = _image_rng(seed, VAL_SET, index)
        width, height = _image_size(rng)
        image, persons = render_image(rng, width, height)
        for keypoints, _, _ in persons:
            draw_annotations(image, keypoints)
        fit = min(tile[0] / width, tile[1] / height)
        small = cv2.resize(
            image, (int(width * fit), int(height * fit)), interpolation=cv2.INTER_AREA
        )
        canvas = np.full((tile[1], tile[0], 3), 255, dtype=np.uint8)
        canvas[: small.shape[0], : small.shape[1]] = small
        tiles.append(canvas)
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    grid = np.vstack(rows)
    if path:
        ok = cv2.imwrite(
            path, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85]
        )
        if not ok:
            raise ValueError(f"cannot write preview image {path} (unknown extension?)")
    return grid
