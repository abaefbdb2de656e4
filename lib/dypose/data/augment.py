"""Training augmentation: half-body, random scale, random rotation, horizontal flip.

The rules are HRNet's (DESIGN.md): scale x clip(1 + f N(0,1), 1 - f, 1 + f) with
f = DATASET.SCALE_FACTOR; rotation r N(0,1) clipped to +-2r degrees (r =
DATASET.ROT_FACTOR), applied with probability DATASET.PROB_ROTATION (the paper's
"[-45, 45]" is this rule); flip with probability 0.5; half-body with probability
DATASET.PROB_HALF_BODY when more than DATASET.NUM_JOINTS_HALF_BODY keypoints are labelled.
"""

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

from dypose.data.transforms import PIXEL_STD

# Half-body boxes are padded more than person boxes (1.5 vs 1.25): they cut through
# the body, and the extra margin keeps the cut limbs' ends inside the crop.
HALF_BODY_PADDING = 1.5
# Probability of a horizontal flip (HRNet's).
FLIP_PROBABILITY = 0.5
# A half needs at least this many labelled keypoints to define its box.
MIN_HALF_BODY_KEYPOINTS = 2


@dataclass
class AugmentParams:
    """The random choices made for one sample."""

    scale_factor: float = 1.0
    rotation: float = 0.0
    flip: bool = False
    half_body: bool = False


def flip_keypoints(
    keypoints: np.ndarray, image_width: float, flip_pairs: Sequence[Tuple[int, int]]
) -> np.ndarray:
    """Mirrors keypoints of a person in an image `image_width` pixels wide.

    x becomes (image_width - 1) - x (pixel i maps to pixel W - 1 - i, as cv2.flip does)
    and left/right keypoints trade places; unlabelled keypoints stay (0, 0, 0).
    Applying it twice gives back the input. The evaluation's `flip_back` undoes the
    same mirror on heatmaps.

    Args:
        keypoints: (K, 3) image frame x, y, v.
        image_width: width of the (unflipped) image in pixels.
        flip_pairs: 0-based (left, right) index pairs.

    Returns:
        A new (K, 3) float32 array.
    """
    flipped = np.array(keypoints, dtype=np.float32, copy=True)
    flipped[:, 0] = (image_width - 1.0) - flipped[:, 0]
    for left, right in flip_pairs:
        flipped[[left, right]] = flipped[[right, left]]
    flipped[:, :2] *= (flipped[:, 2:3] > 0).astype(np.float32)
    return flipped


def flip_matrix(image_width: float) -> np.ndarray:
    """The 3x3 matrix of the mirror x -> (image_width - 1) - x."""
    return np.array([[-1.0, 0.0, image_width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


def half_body_box(
    keypoints: np.ndarray,
    upper_body_ids: Sequence[int],
    aspect_ratio: float,
    rng: np.random.Generator,
) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """A crop around the labelled upper-body or lower-body keypoints only.

    The upper half is chosen with probability 0.5 when it has more than two labelled
    keypoints, else the lower half when it has more than two, else the upper half.

    Args:
        keypoints: (K, 3) image frame.
        upper_body_ids: indices of the upper half; every other index is the lower half.
        aspect_ratio: crop width / height.
        rng: random stream.

    Returns:
        (center (2,), scale (2,)) float32 padded 1.5x, or None (keep the original box)
        when the chosen half has fewer than two labelled keypoints or no area.
    """
    labelled = keypoints[:, 2] > 0
    is_upper = np.zeros(len(keypoints), dtype=bool)
    is_upper[list(upper_body_ids)] = True
    upper = keypoints[labelled & is_upper, :2]
    lower = keypoints[labelled & ~is_upper, :2]
    if rng.random() < 0.5 and len(upper) > MIN_HALF_BODY_KEYPOINTS:
        chosen = upper
    else:
        chosen = lower if len(lower) > MIN_HALF_BODY_KEYPOINTS else upper
    if len(chosen) < MIN_HALF_BODY_KEYPOINTS:
        return None

    top_left, bottom_right = chosen.min(axis=0), chosen.max(axis=0)
    width, height = bottom_right - top_left
    if width <= 0 or height <= 0:
        return None
    center = (top_left + bottom_right) * 0.5
    if width > aspect_ratio * height:
        height = width / aspect_ratio
    else:
        width = height * aspect_ratio
    scale = np.array([width, height], dtype=np.float32) / PIXEL_STD * HALF_BODY_PADDING
    return center.astype(np.float32), scale


def sample_params(cfg_dataset, rng: np.random.Generator) -> AugmentParams:
    """Draws scale factor, rotation and flip (half-body is decided by the caller)."""
    params = AugmentParams()
    factor = float(cfg_dataset.SCALE_FACTOR)
    if factor > 0:
        params.scale_factor = float(
            np.clip(1.0 + factor * rng.standard_normal(), 1 - factor, 1 + factor)
        )
    rot_factor = float(cfg_dataset.ROT_FACTOR)
    rotation = float(np.clip(rot_factor * rng.standard_normal(), -2 * rot_factor, 2 * rot_factor))
    if rot_factor > 0 and rng.random() < float(cfg_dataset.PROB_ROTATION):
        params.rotation = rotation
    params.flip = bool(cfg_dataset.FLIP) and rng.random() < FLIP_PROBABILITY
    return params
