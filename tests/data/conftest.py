"""Small COCO-layout datasets written into tmp_path for the data tests."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from dypose.config import get_config

# The "standard person" of issue 6: one 640x480 image, bbox [100, 50, 120, 300],
# area 20000, all 17 keypoints labelled inside the box.
STANDARD_BOX = [100.0, 50.0, 120.0, 300.0]
STANDARD_AREA = 20000.0
IMAGE_W, IMAGE_H = 640, 480


def standard_keypoints() -> list:
    """17 labelled keypoints spread over the standard box (flat COCO list)."""
    xs = np.linspace(110, 210, 17)
    ys = np.linspace(60, 340, 17)
    flat = []
    for x, y in zip(xs, ys):
        flat.extend([float(x), float(y), 2])
    return flat


def standard_annotation(ann_id=1, image_id=1, **changes) -> dict:
    ann = {
        "id": ann_id,
        "image_id": image_id,
        "category_id": 1,
        "bbox": list(STANDARD_BOX),
        "area": STANDARD_AREA,
        "iscrowd": 0,
        "keypoints": standard_keypoints(),
        "num_keypoints": 17,
    }
    ann.update(changes)
    return ann


def write_coco(root: Path, image_set: str, images: list, annotations: list, write_images=True):
    """Writes annotations/person_keypoints_<set>.json (and plain JPEGs) under root."""
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    folder = root / "images" / image_set
    folder.mkdir(parents=True, exist_ok=True)
    if write_images:
        rng = np.random.default_rng(0)
        for image in images:
            pixels = rng.integers(0, 256, (image["height"], image["width"], 3), dtype=np.uint8)
            cv2.imwrite(str(folder / image["file_name"]), pixels)
    data = {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person", "supercategory": "person"}],
    }
    path = root / "annotations" / f"person_keypoints_{image_set}.json"
    path.write_text(json.dumps(data))
    return path


def image_entry(image_id=1, file_name=None, width=IMAGE_W, height=IMAGE_H) -> dict:
    return {
        "id": image_id,
        "file_name": file_name or f"img_{image_id}.jpg",
        "width": width,
        "height": height,
    }


def config_for(root, *opts):
    return get_config(
        opts=["DATASET.ROOT", str(root), "DATASET.TRAIN_SET", "toy", "DATASET.TEST_SET", "toy"]
        + list(opts)
    )


@pytest.fixture
def standard_dataset(tmp_path):
    """Root of a one-image, one-standard-person dataset with image set "toy"."""
    write_coco(tmp_path, "toy", [image_entry()], [standard_annotation()])
    return tmp_path


@pytest.fixture
def toy():
    """The helpers above, for tests (conftest modules are not importable by name)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        STANDARD_BOX=STANDARD_BOX,
        STANDARD_AREA=STANDARD_AREA,
        standard_keypoints=standard_keypoints,
        standard_annotation=standard_annotation,
        write_coco=write_coco,
        image_entry=image_entry,
        config_for=config_for,
    )
