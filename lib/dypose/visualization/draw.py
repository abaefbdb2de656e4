"""Skeleton drawing on RGB images (used by tools/visualize.py, the demo and debug grids)."""

import math
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

from dypose.data import keypoints as kp_meta
from dypose.utils.io import atomic_path

# Person boxes and their score text.
BOX_COLOR = (255, 255, 255)
# Radius in pixels per pixel of person size (sqrt of box area or keypoint extent).
RADIUS_PER_SIZE = 1.0 / 60.0
# Radius bounds (pixels): visible on tiny crops, not blobs on close-ups.
MIN_RADIUS = 2
MAX_RADIUS = 12
# Edge width as a fraction of the keypoint radius.
LINE_PER_RADIUS = 0.6
# Coordinates beyond this many pixels are treated as failed (cv2 needs int32-safe values).
MAX_COORD = 1e5
# Person size assumed when neither a box nor two valid keypoints give one: this
# fraction of the image's short side.
DEFAULT_SIZE_FRACTION = 0.25


def _default_skeleton_and_sides(num_keypoints: int) -> Tuple[list, list]:
    """COCO's skeleton and sides for K = 17; no edges and centre colours otherwise."""
    if num_keypoints != len(kp_meta.COCO_KEYPOINT_NAMES):
        return [], [kp_meta.SIDE_CENTRE] * num_keypoints
    info = kp_meta.make_keypoint_info(num_keypoints)
    return list(info.skeleton), list(info.sides)


def _normalise_side(side) -> str:
    """Accepts "left", "right", "centre"/"center" (any case) as keypoint sides."""
    sides = {"l": kp_meta.SIDE_LEFT, "r": kp_meta.SIDE_RIGHT, "c": kp_meta.SIDE_CENTRE}
    text = str(side).lower()
    if text not in ("left", "right", "centre", "center"):
        raise ValueError(f"draw_keypoints: keypoint side {side!r}; use 'left', 'right' or 'centre'")
    return sides[text[0]]


def _drawing_metadata(num_keypoints: int, skeleton, sides, colors) -> Tuple[list, list, dict]:
    """Checked skeleton, per-keypoint sides and side -> colour palette."""
    default_skeleton, default_sides = _default_skeleton_and_sides(num_keypoints)
    skeleton = default_skeleton if skeleton is None else [tuple(e) for e in skeleton]
    sides = default_sides if sides is None else [_normalise_side(s) for s in sides]
    if len(sides) != num_keypoints:
        raise ValueError(f"draw_keypoints: {len(sides)} sides for {num_keypoints} keypoints")
    if any(max(i, j) >= num_keypoints or min(i, j) < 0 for i, j in skeleton):
        raise ValueError(f"draw_keypoints: skeleton edge outside 0..{num_keypoints - 1}")
    palette = dict(kp_meta.SIDE_COLORS)
    palette.update({_normalise_side(k): v for k, v in (colors or {}).items()})
    return skeleton, sides, palette


def _as_instances(keypoints, scores) -> Tuple[np.ndarray, np.ndarray]:
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim == 2:
        keypoints = keypoints[None]
    if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
        raise ValueError(
            f"draw_keypoints: keypoints must be (N, K, 2) or (K, 2); got shape {keypoints.shape}"
        )
    if scores is None:
        scores = keypoints[..., 2] if keypoints.shape[-1] > 2 else np.ones(keypoints.shape[:2])
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, keypoints.shape[1])
    if scores.shape[0] != keypoints.shape[0]:
        raise ValueError(
            f"draw_keypoints: scores {scores.shape} do not match keypoints {keypoints.shape}"
        )
    return keypoints[..., :2], scores


def _person_size(points: np.ndarray, valid: np.ndarray, box, image_shape) -> float:
    if box is not None:
        return math.sqrt(max(float(box[2]) * float(box[3]), 1.0))
    if valid.sum() >= 2:
        extent = points[valid].max(axis=0) - points[valid].min(axis=0)
        return max(float(extent.max()), 1.0)
    return DEFAULT_SIZE_FRACTION * min(image_shape[:2])


def _draw_person(canvas, points, valid, radius, skeleton, sides, colors) -> None:
    thickness = max(1, int(round(radius * LINE_PER_RADIUS)))
    # Failed points are never drawn; zeroing them only keeps the integer cast quiet.
    pixels = np.round(np.where(valid[:, None], points, 0.0)).astype(np.int64)
    # Edges first so that each keypoint's circle sits on top with its side's colour.
    for i, j in skeleton:
        if not (valid[i] and valid[j]):
            continue
        side = sides[i] if sides[i] == sides[j] else kp_meta.SIDE_CENTRE
        p, q = tuple(int(v) for v in pixels[i]), tuple(int(v) for v in pixels[j])
        cv2.line(canvas, p, q, colors[side], thickness, cv2.LINE_AA)
    for k in np.flatnonzero(valid):
        center = tuple(int(v) for v in pixels[k])
        cv2.circle(canvas, center, radius, colors[sides[k]], -1, cv2.LINE_AA)


def _draw_box(canvas, box, score, thickness: int) -> None:
    x, y, w, h = (float(v) for v in box[:4])
    p, q = (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h)))
    # Axis-aligned: no anti-aliasing needed, and the box keeps its exact colour.
    cv2.rectangle(canvas, p, q, BOX_COLOR, thickness, cv2.LINE_8)
    if score is not None:
        scale = max(0.4, thickness * 0.4)
        origin = (p[0] + thickness, max(p[1] - 2 * thickness, 10))
        cv2.putText(
            canvas, f"{float(score):.2f}", origin, cv2.FONT_HERSHEY_SIMPLEX, scale, BOX_COLOR,
            thickness, cv2.LINE_AA,
        )  # fmt: skip


def draw_keypoints(
    image: np.ndarray,
    keypoints,
    scores=None,
    skeleton: Optional[Sequence[Tuple[int, int]]] = None,
    sides: Optional[Sequence[str]] = None,
    threshold: float = 0.3,
    boxes=None,
    box_scores=None,
    radius: Optional[int] = None,
    colors: Optional[dict] = None,
) -> np.ndarray:
    """Draws people's keypoints and skeleton edges on a copy of an RGB image.

    A keypoint is drawn when its score is >= `threshold` and both coordinates are
    finite; an edge only when both its ends are drawn. Failed or unlabelled keypoints
    (low score, NaN, inf) are skipped, so nothing lands at the origin for them.

    Args:
        image: (H, W, 3) uint8 RGB image; it is not modified.
        keypoints: (N, K, 2) or (K, 2) (x, y) in the image frame (pixels); a third
            column is used as the score when `scores` is None.
        scores: (N, K) per-keypoint confidence (None: all pass, or the third column).
        skeleton: 0-based (i, j) keypoint pairs joined by a line; None uses COCO's
            skeleton for K = 17 and no edges otherwise.
        sides: K of "left", "right", "centre", choosing each keypoint's colour; None
            uses COCO's for K = 17 and "centre" otherwise. An edge takes its ends'
            side when they agree, else the centre colour.
        threshold: minimum score of a drawn keypoint.
        boxes: optional (N, 4) person boxes (x, y, w, h) in pixels, drawn in white;
            they also set the size of the drawing.
        box_scores: optional (N,) scores written above the boxes.
        radius: keypoint radius in pixels; None scales it to each person's size.
        colors: side -> RGB colour overrides of dypose.data.keypoints.SIDE_COLORS.

    Returns:
        The drawn (H, W, 3) uint8 copy.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(
            f"draw_keypoints: image must be (H, W, 3) uint8 RGB; got {image.shape} {image.dtype}"
        )
    points, scores = _as_instances(keypoints, scores)
    skeleton, sides, palette = _drawing_metadata(points.shape[1], skeleton, sides, colors)
    boxes = None if boxes is None else np.asarray(boxes, dtype=np.float64).reshape(-1, 4)

    canvas = np.ascontiguousarray(image.copy())
    for n in range(points.shape[0]):
        finite = np.isfinite(points[n]).all(axis=1) & (np.abs(points[n]) < MAX_COORD).all(axis=1)
        valid = finite & (scores[n] >= threshold)
        box = boxes[n] if boxes is not None and n < len(boxes) else None
        size = _person_size(points[n], valid, box, image.shape)
        scaled = int(np.clip(round(size * RADIUS_PER_SIZE), MIN_RADIUS, MAX_RADIUS))
        person_radius = radius or scaled
        _draw_person(canvas, points[n], valid, person_radius, skeleton, sides, palette)
        if box is not None:
            score = None if box_scores is None else np.asarray(box_scores).reshape(-1)[n]
            _draw_box(canvas, box, score, max(1, person_radius // 3))
    return canvas


def write_image(path: str, image: np.ndarray, quality: int = 92) -> None:
    """Writes an RGB uint8 image atomically; the format follows the extension.

    Raises:
        ValueError: when OpenCV cannot encode the extension of `path`.
    """
    ext = "." + path.rsplit(".", 1)[-1] if "." in path else ""
    params = [cv2.IMWRITE_JPEG_QUALITY, quality] if ext.lower() in (".jpg", ".jpeg") else []
    try:
        ok, data = cv2.imencode(ext, np.ascontiguousarray(image[..., ::-1]), params)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f"write_image: cannot encode {path}; use a .jpg or .png file name")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data.tobytes())
