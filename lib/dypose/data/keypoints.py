"""Keypoint metadata: names, flip pairs, skeleton, OKS sigmas, side colours.

All indices here are 0-based (COCO's json skeleton is 1-based; `COCO_SKELETON` is
converted once below). `get_keypoint_info` builds the metadata for the configured
keypoint set and checks that every per-keypoint list matches MODEL.NUM_JOINTS.
"""

import logging
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

logger = logging.getLogger(__name__)

# COCO's 17 person keypoints in annotation order.
COCO_KEYPOINT_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# (left, right) pairs that trade places when an image is mirrored.
COCO_FLIP_PAIRS = ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16))
# COCO's skeleton as published in the json (1-based), kept for writing json files.
COCO_SKELETON_1BASED = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7), (6, 8),
    (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5), (4, 6), (5, 7),
)  # fmt: skip
# The same edges, 0-based, for drawing.
COCO_SKELETON = tuple((a - 1, b - 1) for a, b in COCO_SKELETON_1BASED)
# Per-keypoint OKS sigmas of the COCO keypoint evaluation (cocoapi's values).
COCO_OKS_SIGMAS = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)  # fmt: skip
# Half-body augmentation splits COCO persons into head+arms (0-10) and legs (11-16).
COCO_UPPER_BODY_IDS = tuple(range(11))

# Side labels and the RGB colours drawings use for them (left warm, right cool).
SIDE_LEFT, SIDE_RIGHT, SIDE_CENTRE = "left", "right", "centre"
LEFT_COLOR = (255, 128, 0)
RIGHT_COLOR = (0, 160, 255)
CENTRE_COLOR = (0, 220, 0)
SIDE_COLORS = {SIDE_LEFT: LEFT_COLOR, SIDE_RIGHT: RIGHT_COLOR, SIDE_CENTRE: CENTRE_COLOR}


class KeypointSetError(ValueError):
    """A keypoint set whose per-keypoint lists do not match the keypoint count."""


@dataclass(frozen=True)
class KeypointInfo:
    """Metadata of one keypoint set (K keypoints).

    Attributes:
        num_keypoints: K.
        names: K names.
        flip_pairs: (left, right) 0-based index pairs swapped by mirroring.
        oks_sigmas: np.float32 (K,) OKS sigmas for evaluation.
        weights: np.float32 (K,) loss weights (multiplied into target weights).
        upper_body_ids: 0-based indices of the upper half for half-body augmentation.
        skeleton: 0-based (a, b) edges for drawing.
        sides: K entries, each "left", "right" or "centre" (from the flip pairs).
    """

    num_keypoints: int
    names: Tuple[str, ...]
    flip_pairs: Tuple[Tuple[int, int], ...]
    oks_sigmas: np.ndarray
    weights: np.ndarray
    upper_body_ids: Tuple[int, ...]
    skeleton: Tuple[Tuple[int, int], ...]
    sides: Tuple[str, ...]

    @property
    def flip_index(self) -> np.ndarray:
        """int64 (K,): keypoint i of a mirrored person is keypoint flip_index[i]."""
        index = np.arange(self.num_keypoints)
        for left, right in self.flip_pairs:
            index[left], index[right] = right, left
        return index

    @property
    def side_colors(self) -> List[Tuple[int, int, int]]:
        """K RGB colours, one per keypoint, by side."""
        return [SIDE_COLORS[side] for side in self.sides]


def _check_length(values: Sequence, num_keypoints: int, what: str, key: str) -> None:
    if len(values) != num_keypoints:
        raise KeypointSetError(
            f"{num_keypoints} keypoints but {len(values)} {what}: set {key} to "
            f"{num_keypoints} values (MODEL.NUM_JOINTS = {num_keypoints})"
        )


def _check_pairs(pairs, num_keypoints: int) -> Tuple[Tuple[int, int], ...]:
    checked, seen = [], set()
    for pair in pairs:
        if len(pair) != 2:
            raise KeypointSetError(f"DATASET.FLIP_PAIRS entries are [left, right]; got {pair}")
        left, right = int(pair[0]), int(pair[1])
        for index in (left, right):
            if not 0 <= index < num_keypoints:
                raise KeypointSetError(
                    f"{num_keypoints} keypoints but flip pair {list(pair)} uses index {index}: "
                    f"DATASET.FLIP_PAIRS indices are 0-based and below {num_keypoints}"
                )
            if index in seen:
                raise KeypointSetError(
                    f"keypoint {index} appears twice in DATASET.FLIP_PAIRS {list(pairs)}"
                )
            seen.add(index)
        if left == right:
            raise KeypointSetError(f"flip pair {list(pair)} pairs a keypoint with itself")
        checked.append((left, right))
    return tuple(checked)


def make_keypoint_info(
    num_keypoints: int,
    flip_pairs=None,
    oks_sigmas=None,
    weights=None,
    upper_body_ids=None,
    names=None,
    skeleton=None,
) -> KeypointInfo:
    """Builds and validates a keypoint set; None (or empty) takes COCO's value.

    COCO's defaults apply only where they fit: with K != 17 an empty sigma list is an
    error (OKS needs one sigma per keypoint), while empty flip pairs, upper-body ids and
    skeleton mean "none".

    Raises:
        KeypointSetError: a list whose length or indices do not fit K, e.g.
            "5 keypoints but 17 sigmas".
    """
    is_coco = num_keypoints == len(COCO_KEYPOINT_NAMES)
    if not oks_sigmas:
        oks_sigmas = COCO_OKS_SIGMAS
    _check_length(oks_sigmas, num_keypoints, "sigmas", "DATASET.OKS_SIGMAS")
    if flip_pairs is None or len(flip_pairs) == 0:
        flip_pairs = COCO_FLIP_PAIRS if is_coco else ()
    flip_pairs = _check_pairs(flip_pairs, num_keypoints)
    weights = list(weights) if weights else [1.0] * num_keypoints
    _check_length(weights, num_keypoints, "keypoint weights", "DATASET.KEYPOINT_WEIGHTS")
    if not upper_body_ids:
        upper_body_ids = COCO_UPPER_BODY_IDS if is_coco else ()
    for index in upper_body_ids:
        if not 0 <= int(index) < num_keypoints:
            raise KeypointSetError(
                f"{num_keypoints} keypoints but DATASET.UPPER_BODY_IDS has index {index}"
            )
    if not names:
        names = COCO_KEYPOINT_NAMES if is_coco else [f"keypoint_{i}" for i in range(num_keypoints)]
    _check_length(names, num_keypoints, "names", "the keypoint names")
    if skeleton is None:
        skeleton = COCO_SKELETON if is_coco else ()
    sides = [SIDE_CENTRE] * num_keypoints
    for left, right in flip_pairs:
        sides[left], sides[right] = SIDE_LEFT, SIDE_RIGHT
    return KeypointInfo(
        num_keypoints=num_keypoints,
        names=tuple(names),
        flip_pairs=flip_pairs,
        oks_sigmas=np.asarray(oks_sigmas, dtype=np.float32),
        weights=np.asarray(weights, dtype=np.float32),
        upper_body_ids=tuple(int(i) for i in upper_body_ids),
        skeleton=tuple((int(a), int(b)) for a, b in skeleton),
        sides=tuple(sides),
    )


def get_keypoint_info(cfg) -> KeypointInfo:
    """The keypoint set of an experiment (MODEL.NUM_JOINTS and DATASET.* lists).

    Raises:
        KeypointSetError: at setup time, when a list does not fit MODEL.NUM_JOINTS.
    """
    num_keypoints = int(cfg.MODEL.NUM_JOINTS)
    info = make_keypoint_info(
        num_keypoints,
        flip_pairs=list(cfg.DATASET.FLIP_PAIRS),
        oks_sigmas=list(cfg.DATASET.OKS_SIGMAS),
        weights=list(cfg.DATASET.KEYPOINT_WEIGHTS),
        upper_body_ids=list(cfg.DATASET.UPPER_BODY_IDS),
    )
    if num_keypoints != len(COCO_KEYPOINT_NAMES) and not info.flip_pairs:
        logger.warning(
            "%d keypoints and no DATASET.FLIP_PAIRS: flipping mirrors images without "
            "swapping any keypoints",
            num_keypoints,
        )
    return info
