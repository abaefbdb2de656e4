"""Person records from COCO-format keypoint files and detector results.

Layout (that of a COCO download):
    <root>/annotations/person_keypoints_<set>.json
    <root>/images/<set>/<file_name from the json>

Ground-truth boxes follow HRNet's rule, so that AP figures agree with published ones:
x1 = max(0, x), x2 = min(width - 1, x1 + max(0, w - 1)), the same for y; a person is
kept when the annotation's area > 0 and x2 >= x1, y2 >= y1, and the record's box is
(x1, y1, x2 - x1, y2 - y1). Crowd annotations and persons with no labelled keypoint
are skipped. Every record keeps its image_id, which the results file carries back.
"""

import logging
import os
from collections import Counter, OrderedDict
from typing import Dict, List, Tuple

import numpy as np

from dypose.data.transforms import box_to_center_scale
from dypose.utils.io import read_json as io_read_json

logger = logging.getLogger(__name__)

# COCO's person category; the only one a person-keypoint dataset uses.
PERSON_CATEGORY_ID = 1
# Areas at or below this make pycocotools' OKS divide by ~0 (the person scores 0).
TINY_AREA = 1.0
# Fields every annotation must have, and every image entry.
REQUIRED_ANNOTATION_FIELDS = ("image_id", "bbox", "keypoints")
REQUIRED_IMAGE_FIELDS = ("id", "file_name", "width", "height")
# Skip reasons, in the order the load log lists them.
SKIP_REASONS = (
    "crowd",
    "no keypoints",
    "zero area",
    "bad box",
    "not a person",
    "unknown image",
    "below score threshold",
)


class AnnotationError(ValueError):
    """An annotation or detection file DyPose cannot use."""


def annotation_file(root: str, image_set: str) -> str:
    """The keypoint annotation json of `image_set` under a COCO-layout `root`."""
    return os.path.join(root, "annotations", f"person_keypoints_{image_set}.json")


def image_folder(root: str, image_set: str) -> str:
    """The folder holding the images of `image_set`."""
    return os.path.join(root, "images", image_set)


def read_json(path: str):
    """Loads a json file, turning a missing, truncated or invalid file into AnnotationError."""
    return io_read_json(path, "annotation file", AnnotationError)


def _label(entry: dict, position) -> str:
    """How messages name an entry: by its id, else by its position in the file."""
    return f"id {entry['id']}" if "id" in entry else f"#{position}"


def _field_error(path: str, kind: str, label: str, field: str, problem: str) -> AnnotationError:
    return AnnotationError(f"{path}: {kind} {label}: field '{field}' {problem}")


def _check_fields(path: str, entry: dict, fields, kind: str, position: int) -> None:
    if not isinstance(entry, dict):
        raise AnnotationError(f"{path}: {kind} #{position} is not an object: {entry!r:.80}")
    for field in fields:
        if field not in entry:
            raise _field_error(path, kind, _label(entry, position), field, "is missing")


def load_coco_json(path: str) -> dict:
    """Reads and checks a COCO person-keypoint json.

    Returns:
        The parsed dict, with "images" and "annotations" lists checked for their
        required fields.

    Raises:
        AnnotationError: naming the file, the annotation (or image) id and the field.
    """
    data = read_json(path)
    if not isinstance(data, dict):
        raise AnnotationError(f"{path}: expected a COCO json object at the top level")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise AnnotationError(f"{path}: the top-level field '{key}' is missing or not a list")
    for position, image in enumerate(data["images"]):
        _check_fields(path, image, REQUIRED_IMAGE_FIELDS, "image", position)
    for position, ann in enumerate(data["annotations"]):
        _check_fields(path, ann, REQUIRED_ANNOTATION_FIELDS, "annotation", position)
    return data


def _as_int_flag(path: str, ann: dict, field: str, warned: Counter) -> int:
    """iscrowd as 0/1; strings such as "0" are converted with one warning per file."""
    value = ann.get(field, 0)
    if isinstance(value, (bool, int, np.integer)):
        return int(value)
    try:
        converted = int(float(value))
    except (TypeError, ValueError) as err:
        raise _field_error(
            path, "annotation", _label(ann, "?"), field, f"= {value!r} is not 0/1"
        ) from err
    if not warned[field]:
        logger.warning(
            "%s: annotation id %s: field '%s' = %r is not a number; read as %d (further "
            "such values in this file are converted silently)",
            path, ann.get("id"), field, value, converted,
        )  # fmt: skip
    warned[field] += 1
    return converted


def _keypoints(path: str, ann: dict, num_keypoints: int) -> np.ndarray:
    values = ann["keypoints"]
    try:
        keypoints = np.asarray(values, dtype=np.float32).reshape(-1, 3)
    except (TypeError, ValueError) as err:
        raise _field_error(
            path, "annotation", _label(ann, "?"), "keypoints", "is not numeric"
        ) from err
    if keypoints.shape[0] != num_keypoints:
        raise _field_error(
            path, "annotation", _label(ann, "?"), "keypoints",
            f"has {len(values)} numbers; MODEL.NUM_JOINTS = {num_keypoints} needs "
            f"{3 * num_keypoints}",
        )  # fmt: skip
    return keypoints


def _bbox(path: str, entry: dict, kind: str = "annotation", position="?") -> list:
    """The entry's [x, y, w, h] as floats, or an error naming the entry and the field."""
    label = _label(entry, position)
    try:
        box = [float(v) for v in entry["bbox"]]
    except (TypeError, ValueError) as err:
        raise _field_error(path, kind, label, "bbox", "is not numeric") from err
    if len(box) != 4:
        raise _field_error(path, kind, label, "bbox", f"has {len(box)} numbers, not 4")
    return box


def clip_box(box, width: float, height: float):
    """HRNet's ground-truth box clip; returns (x, y, w, h) or None when empty."""
    x, y, w, h = (float(v) for v in box[:4])
    x1, y1 = max(0.0, x), max(0.0, y)
    x2 = min(width - 1.0, x1 + max(0.0, w - 1.0))
    y2 = min(height - 1.0, y1 + max(0.0, h - 1.0))
    if x2 < x1 or y2 < y1:
        return None
    return (x1, y1, x2 - x1, y2 - y1)


def _ground_truth_records(path, data, image_dir, aspect_ratio, num_keypoints):
    images = {img["id"]: img for img in data["images"]}
    records, skipped, warned = [], Counter(), Counter()
    for ann in data["annotations"]:
        ident = ann.get("id")
        if ann.get("category_id", PERSON_CATEGORY_ID) != PERSON_CATEGORY_ID:
            skipped["not a person"] += 1
            continue
        if _as_int_flag(path, ann, "iscrowd", warned):
            skipped["crowd"] += 1
            continue
        keypoints = _keypoints(path, ann, num_keypoints)
        if not np.any(keypoints[:, 2] > 0):
            skipped["no keypoints"] += 1
            continue
        image = images.get(ann["image_id"])
        if image is None:
            skipped["unknown image"] += 1
            continue
        area = float(ann.get("area", 0.0))
        if area <= TINY_AREA:
            logger.warning(
                "%s: annotation id %s has area %g: pycocotools will score this person 0 at "
                "evaluation whatever the prediction (OKS divides by the area)%s",
                path, ident, area, "; skipped for training" if area <= 0 else "",
            )  # fmt: skip
        if area <= 0:
            skipped["zero area"] += 1
            continue
        box = clip_box(_bbox(path, ann), image["width"], image["height"])
        if box is None:
            skipped["bad box"] += 1
            continue
        center, scale = box_to_center_scale(box, aspect_ratio)
        records.append(_record(image, image_dir, center, scale, keypoints, 1.0, area, box, ident))
    return records, skipped


def _record(image, image_dir, center, scale, keypoints, score, area, box, ann_id) -> dict:
    return {
        "image_id": int(image["id"]),
        "image_path": os.path.join(image_dir, image["file_name"]),
        "width": int(image["width"]),
        "height": int(image["height"]),
        "center": center,
        "scale": scale,
        "keypoints": keypoints,
        "score": float(score),
        "area": float(area),
        "box": np.asarray(box, dtype=np.float32),
        "annotation_id": ann_id,
    }


def _detection_records(det_path, data, image_dir, aspect_ratio, num_keypoints, threshold):
    detections = read_json(det_path)
    if not isinstance(detections, list):
        raise AnnotationError(f"{det_path}: a detection-results json is a list of boxes")
    images = {img["id"]: img for img in data["images"]}
    records, skipped = [], Counter()
    for position, det in enumerate(detections):
        _check_fields(det_path, det, ("image_id", "bbox", "score"), "detection", position)
        if det.get("category_id", PERSON_CATEGORY_ID) != PERSON_CATEGORY_ID:
            skipped["not a person"] += 1
            continue
        if float(det["score"]) < threshold:
            skipped["below score threshold"] += 1
            continue
        image = images.get(det["image_id"])
        if image is None:
            skipped["unknown image"] += 1
            continue
        box = _bbox(det_path, det, "detection", position)
        if box[2] <= 0 or box[3] <= 0:
            skipped["bad box"] += 1
            continue
        center, scale = box_to_center_scale(box, aspect_ratio)
        zeros = np.zeros((num_keypoints, 3), dtype=np.float32)
        area = box[2] * box[3]
        records.append(
            _record(image, image_dir, center, scale, zeros, det["score"], area, box, None)
        )
    return records, skipped


def _format_skips(skipped: Counter) -> str:
    counts = OrderedDict((reason, skipped[reason]) for reason in SKIP_REASONS if skipped[reason])
    if not counts:
        return "none skipped"
    return "skipped " + ", ".join(f"{reason}: {count}" for reason, count in counts.items())


def load_records(cfg, image_set: str, use_gt_boxes: bool = True) -> List[Dict]:
    """Person records of one image set, from ground-truth or detector boxes.

    Args:
        cfg: config (DATASET.ROOT, MODEL.IMAGE_SIZE, MODEL.NUM_JOINTS, and for detector
            boxes TEST.COCO_BBOX_FILE and TEST.IMAGE_THRE).
        image_set: e.g. "val2017"; reads annotations/person_keypoints_<set>.json.
        use_gt_boxes: ground-truth boxes (clipped by HRNet's rule) or the detector
            boxes of TEST.COCO_BBOX_FILE with score >= TEST.IMAGE_THRE.

    Returns:
        A list of dicts: image_id (int), image_path (str), width, height (json, px),
        center (2,) float32 image px, scale (2,) float32 in units of PIXEL_STD,
        keypoints (K, 3) float32 image frame (x, y, v; zeros for detector boxes),
        score (1 for ground truth, else the detector's), area (annotation area, or
        box w*h for detections), box (4,) float32 x, y, w, h, annotation_id (or None).

    Raises:
        AnnotationError: unreadable files, missing fields, or no usable person left
            (with the count of each skip reason).
    """
    root = cfg.DATASET.ROOT
    path = annotation_file(root, image_set)
    data = load_coco_json(path)
    image_dir = image_folder(root, image_set)
    aspect_ratio = cfg.MODEL.IMAGE_SIZE[0] / cfg.MODEL.IMAGE_SIZE[1]
    num_keypoints = int(cfg.MODEL.NUM_JOINTS)
    if use_gt_boxes:
        records, skipped = _ground_truth_records(path, data, image_dir, aspect_ratio, num_keypoints)
        source = path
    else:
        source = cfg.TEST.COCO_BBOX_FILE
        if not source:
            raise AnnotationError(
                "TEST.USE_GT_BBOX is False but TEST.COCO_BBOX_FILE is empty: give the "
                "detection-results json"
            )
        records, skipped = _detection_records(
            source, data, image_dir, aspect_ratio, num_keypoints, float(cfg.TEST.IMAGE_THRE)
        )
    summary = f"{len(data['images'])} images, {len(records)} persons kept, {_format_skips(skipped)}"
    if not records:
        raise AnnotationError(f"{source}: no usable person left ({summary})")
    logger.info("%s [%s]: %s", image_set, os.path.basename(source), summary)
    return records


def records_image_ids(records: List[Dict]) -> Tuple[int, ...]:
    """The distinct image ids of `records`, in first-seen order."""
    return tuple(OrderedDict.fromkeys(r["image_id"] for r in records))
