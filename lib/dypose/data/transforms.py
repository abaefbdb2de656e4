"""Geometry shared by training crops and evaluation decoding.

Frames: the *image* frame is pixels of the stored image; the *crop* frame is pixels
of the network input (MODEL.IMAGE_SIZE); the *heatmap* frame is crop / stride with no
half-pixel offset (HRNet's convention, so AP figures agree with published ones).

A person box is described by its `center` (x, y) in image pixels and its `scale`
(sw, sh) in units of PIXEL_STD pixels: the crop covers sw * PIXEL_STD by
sh * PIXEL_STD image pixels around the center.
"""

from typing import Sequence, Tuple

import numpy as np

# Box sizes are stored in units of 200 px, as in HRNet and the MPII tools it came from.
PIXEL_STD = 200.0
# Person boxes are enlarged 1.25x so that limbs at the box edge stay inside the crop.
BOX_PADDING = 1.25


def box_to_center_scale(
    box: Sequence[float], aspect_ratio: float, padding: float = BOX_PADDING
) -> Tuple[np.ndarray, np.ndarray]:
    """Turns a box into the center and scale of its crop.

    Args:
        box: (x, y, w, h) in image pixels (COCO's bbox convention).
        aspect_ratio: crop width / height, e.g. 192 / 256.
        padding: growth factor applied after fitting the aspect ratio.

    Returns:
        center (2,) in image pixels and scale (2,) in units of PIXEL_STD, float32.
    """
    x, y, w, h = (float(v) for v in box[:4])
    center = np.array([x + w * 0.5, y + h * 0.5], dtype=np.float32)
    # Grow the short side so the crop has the network's aspect ratio (no distortion).
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    scale = np.array([w / PIXEL_STD, h / PIXEL_STD], dtype=np.float32) * padding
    return center, scale


def get_affine_transform(
    center: Sequence[float],
    scale: Sequence[float],
    rotation: float,
    output_size: Sequence[int],
    inverse: bool = False,
) -> np.ndarray:
    """The 2x3 matrix that maps image pixels to crop pixels (or back, with inverse).

    The crop's center is the box center; the crop is `output_size` = (W, H) pixels and
    shows scale[0] * PIXEL_STD image pixels across, so x and y share one zoom (the
    scale was fitted to the aspect ratio by `box_to_center_scale`). A positive
    `rotation` (degrees) turns the image content clockwise in the crop, as HRNet's
    `get_affine_transform` does. `inverse=True` returns the crop -> image matrix,
    which `transform_points` uses to undo this mapping at evaluation.
    """
    out_w, out_h = float(output_size[0]), float(output_size[1])
    zoom = out_w / (float(scale[0]) * PIXEL_STD)
    theta = np.deg2rad(rotation)
    cos, sin = np.cos(theta), np.sin(theta)
    # image -> crop: rotate by -rotation about the center, zoom, move to the crop center.
    rot = np.array([[cos, sin], [-sin, cos]])
    center = np.asarray(center, dtype=np.float64)
    crop_center = np.array([out_w * 0.5, out_h * 0.5])
    if not inverse:
        linear = zoom * rot
        offset = crop_center - linear @ center
    else:
        linear = rot.T / zoom
        offset = center - linear @ crop_center
    return np.hstack([linear, offset[:, None]]).astype(np.float64)


def transform_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Applies a 2x3 affine matrix to points (..., 2); returns the same shape."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]
