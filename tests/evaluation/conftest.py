"""Fixtures of the evaluation tests: the "standard person" of the issues and COCO meta."""

import json
from types import SimpleNamespace

import numpy as np
import pytest

from dypose.data.keypoints import COCO_KEYPOINT_NAMES, make_keypoint_info

# The standard person: one 640x480 image, box [100, 50, 120, 300], area 20000.
STANDARD_BOX = [100.0, 50.0, 120.0, 300.0]
STANDARD_AREA = 20000.0
IMAGE_WIDTH, IMAGE_HEIGHT = 640, 480


def standard_keypoints(num_keypoints: int = 17) -> np.ndarray:
    """(K, 3) labelled keypoints spread inside the standard box (x, y, v=2)."""
    index = np.arange(num_keypoints)
    x = 110.0 + (index % 4) * 30.0
    y = 60.0 + index * (280.0 / max(1, num_keypoints - 1))
    return np.stack([x, y, np.full(num_keypoints, 2.0)], axis=1)


def ground_truth(num_keypoints: int = 17, image_ids=(1,), area: float = STANDARD_AREA) -> dict:
    """A COCO annotation dict with one standard person per image."""
    names = list(COCO_KEYPOINT_NAMES) if num_keypoints == 17 else [
        f"kp{i}" for i in range(num_keypoints)
    ]  # fmt: skip
    keypoints = standard_keypoints(num_keypoints)
    return {
        "images": [
            {"id": i, "file_name": f"{i:012d}.jpg", "width": IMAGE_WIDTH, "height": IMAGE_HEIGHT}
            for i in image_ids
        ],
        "annotations": [
            {
                "id": 100 + i,
                "image_id": i,
                "category_id": 1,
                "bbox": list(STANDARD_BOX),
                "area": area,
                "iscrowd": 0,
                "num_keypoints": num_keypoints,
                "keypoints": keypoints.reshape(-1).tolist(),
            }
            for i in image_ids
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": names, "skeleton": []}],
    }


def perfect_result(image_id: int = 1, num_keypoints: int = 17) -> dict:
    """A prediction equal to the standard person (keypoint scores 1, score 1)."""
    keypoints = standard_keypoints(num_keypoints)
    keypoints[:, 2] = 1.0
    return {
        "image_id": image_id,
        "category_id": 1,
        "keypoints": keypoints.reshape(-1).tolist(),
        "score": 1.0,
    }


@pytest.fixture
def write_json(tmp_path):
    """Writes an object as json under tmp_path and returns the path (str)."""

    def _write(obj, name: str) -> str:
        path = tmp_path / name
        path.write_text(json.dumps(obj), encoding="utf-8")
        return str(path)

    return _write


@pytest.fixture
def coco_info():
    """COCO's 17-keypoint KeypointInfo."""
    return make_keypoint_info(17)


@pytest.fixture
def standard():
    """The standard-person helpers (fixtures work whatever pytest's import mode)."""
    return SimpleNamespace(
        keypoints=standard_keypoints, ground_truth=ground_truth, perfect_result=perfect_result
    )
