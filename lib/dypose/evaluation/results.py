"""From decoded poses to a COCO keypoint results file: rescoring, OKS-NMS, writing.

A results file is plain COCO results json (what pycocotools' loadRes reads): a list
of {"image_id": int, "category_id": int, "keypoints": [x1, y1, s1, ...] (3K floats,
image pixels and peak values), "score": float}, plus HRNet's "center" and "scale" and
our "box_score" (the detector's score, so a file can be rescored again).
"""

import json
import numbers
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np
import torch

from dypose.data.transforms import PIXEL_STD
from dypose.evaluation.nms import group_by_image, oks_nms, soft_oks_nms
from dypose.utils.io import atomic_path, read_json

try:  # Optional: orjson writes the same json about 10x faster than the json module.
    import orjson
except ImportError:  # pragma: no cover - depends on the environment
    orjson = None

# COCO's category id of "person".
PERSON_CATEGORY_ID = 1
# Fields every result must carry (pycocotools reads these).
REQUIRED_FIELDS = ("image_id", "keypoints", "score")


def rescore(keypoint_scores: np.ndarray, box_scores: np.ndarray, in_vis_thre: float) -> np.ndarray:
    """Person score = box score x mean of the keypoint peaks above `in_vis_thre`.

    As HRNet: a person with no keypoint above the threshold scores 0.

    Args:
        keypoint_scores: (N, K) peak values.
        box_scores: (N,) detector (or ground-truth: 1) box scores.
        in_vis_thre: TEST.IN_VIS_THRE.

    Returns:
        (N,) float64 person scores.
    """
    keypoint_scores = np.asarray(keypoint_scores, dtype=np.float64)
    visible = keypoint_scores > in_vis_thre
    count = visible.sum(axis=1)
    total = np.where(visible, keypoint_scores, 0.0).sum(axis=1)
    mean = np.divide(total, count, out=np.zeros_like(total), where=count > 0)
    return np.asarray(box_scores, dtype=np.float64).reshape(-1) * mean


def pose_areas(scales: np.ndarray) -> np.ndarray:
    """Areas (N,) in pixels^2 of the crops, HRNet's area for OKS-NMS: prod(scale * 200)."""
    return np.prod(np.asarray(scales, dtype=np.float64) * PIXEL_STD, axis=1)


def select_poses(
    image_ids: np.ndarray,
    keypoints: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    sigmas: Sequence[float],
    oks_thre: float,
    soft: bool = False,
) -> Tuple[np.ndarray, np.ndarray]:
    """OKS-NMS within each image.

    Args:
        image_ids: (N,) image of each pose.
        keypoints: (N, K, 3) x, y, peak in image pixels.
        scores: (N,) person scores.
        areas: (N,) areas for the OKS (see `pose_areas`).
        sigmas: (K,) OKS sigmas.
        oks_thre: TEST.OKS_THRE.
        soft: soft OKS-NMS (decayed scores) instead of hard suppression.

    Returns:
        indices (M,) of the kept poses (grouped by image, best first) and their
        scores (M,) (decayed ones with `soft`).
    """
    scores = np.asarray(scores, dtype=np.float64)
    kept, kept_scores = [], []
    for members in group_by_image(image_ids):
        if soft:
            keep, new_scores = soft_oks_nms(
                keypoints[members], scores[members], areas[members], oks_thre, sigmas
            )
        else:
            keep = oks_nms(keypoints[members], scores[members], areas[members], oks_thre, sigmas)
            new_scores = scores[members][keep]
        kept.append(members[keep])
        kept_scores.append(new_scores)
    if not kept:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    return np.concatenate(kept), np.concatenate(kept_scores)


def build_results(
    preds: Dict[str, np.ndarray], indices: np.ndarray, scores: np.ndarray
) -> List[Dict[str, Any]]:
    """COCO results (plain Python types) for the poses `indices` of `preds`.

    Args:
        preds: the dict of `predict` (keypoints (N, K, 3), centers, scales, scores,
            image_ids).
        indices: (M,) poses to write.
        scores: (M,) their person scores.
    """
    indices = np.asarray(indices, dtype=np.intp)
    # One tolist() per field: converting element by element is ~10x slower.
    image_ids = np.asarray(preds["image_ids"])[indices].astype(np.int64).tolist()
    keypoints = np.asarray(preds["keypoints"], dtype=np.float64)
    flat = keypoints[indices].reshape(len(indices), int(np.prod(keypoints.shape[1:]))).tolist()
    centers = np.asarray(preds["centers"], dtype=np.float64)[indices].tolist()
    scales = np.asarray(preds["scales"], dtype=np.float64)[indices].tolist()
    box_scores = np.asarray(preds["scores"], dtype=np.float64)[indices].tolist()
    person_scores = np.asarray(scores, dtype=np.float64).tolist()
    return [
        {
            "image_id": image_ids[i],
            "category_id": PERSON_CATEGORY_ID,
            "keypoints": flat[i],
            "score": person_scores[i],
            "center": centers[i],
            "scale": scales[i],
            "box_score": box_scores[i],
        }
        for i in range(len(indices))
    ]


def to_plain(value: Any) -> Any:
    """Converts numpy / torch values (any nesting) to Python ints, floats and lists."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def normalize_result(result: Dict[str, Any], position: int, source: str) -> Dict[str, Any]:
    """One result in plain types: int image_id, float score, flat float keypoints."""
    missing = [f for f in REQUIRED_FIELDS if f not in result]
    if missing:
        raise ValueError(
            f"{source}: result {position} lacks {', '.join(missing)}; each result needs "
            f"{', '.join(REQUIRED_FIELDS)}"
        )
    plain = to_plain(result)
    image_id = plain["image_id"]
    if isinstance(image_id, list) and len(image_id) == 1:
        image_id = image_id[0]
    if not isinstance(image_id, numbers.Integral) and not (
        isinstance(image_id, float) and image_id.is_integer()
    ):
        raise ValueError(f"{source}: result {position} has image_id {image_id!r}; expected an int")
    plain["image_id"] = int(image_id)
    plain["category_id"] = int(plain.get("category_id", PERSON_CATEGORY_ID))
    plain["score"] = float(np.asarray(plain["score"]).reshape(-1)[0])
    plain["keypoints"] = np.asarray(plain["keypoints"], dtype=np.float64).reshape(-1).tolist()
    return plain


def write_results(results: Sequence[Dict[str, Any]], path: str, normalize: bool = True) -> str:
    """Writes COCO keypoint results as plain json, atomically.

    Args:
        results: result dicts; numpy / torch values are converted (keypoints may be
            (K, 3) arrays; they are flattened to 3K numbers).
        path: output json path.
        normalize: convert and check each result; `build_results` output needs not.

    Returns:
        `path`.
    """
    if normalize:
        results = [normalize_result(r, i, path) for i, r in enumerate(results)]
    with atomic_path(path) as tmp:
        if orjson is not None:
            with open(tmp, "wb") as f:
                f.write(orjson.dumps(results))
        else:
            with open(tmp, "w", encoding="utf-8") as f:
                # dumps runs the C encoder in one go; dump streams through Python (2x slower).
                f.write(json.dumps(results))
    return path


def read_results(path: str) -> List[Dict[str, Any]]:
    """Reads a COCO keypoint results json; raises naming the file when it is not one."""
    results = read_json(path, "results file", fix="rewrite the results file")
    if not isinstance(results, list):
        raise ValueError(f"{path}: COCO results must be a json list of objects")
    return results


def results_arrays(plain: Sequence[Dict[str, Any]], num_keypoints: int) -> Dict[str, np.ndarray]:
    """Normalized results (see `normalize_result`) as arrays, for rescoring a file.

    Uses "box_score" as the box score when present, else "score"; the area for
    OKS-NMS from "scale" when present, else the keypoints' extent (pycocotools' area).
    """
    keypoints = np.asarray([r["keypoints"] for r in plain], dtype=np.float64)
    keypoints = keypoints.reshape(len(plain), num_keypoints, 3)
    extent = keypoints[..., :2].max(axis=1) - keypoints[..., :2].min(axis=1)
    areas = np.array(
        [
            np.prod(np.asarray(r["scale"], dtype=np.float64) * PIXEL_STD)
            if "scale" in r
            else extent[i, 0] * extent[i, 1]
            for i, r in enumerate(plain)
        ]
    )
    return {
        "keypoints": keypoints,
        "scores": np.array([r.get("box_score", r["score"]) for r in plain], dtype=np.float64),
        "image_ids": np.array([r["image_id"] for r in plain], dtype=np.int64),
        "areas": areas,
    }
