"""Keypoint metadata and its validation against MODEL.NUM_JOINTS (issue 6, case 5)."""

import numpy as np
import pytest

from dypose.config import get_config
from dypose.data.keypoints import (
    COCO_FLIP_PAIRS,
    COCO_KEYPOINT_NAMES,
    COCO_SKELETON,
    KeypointSetError,
    get_keypoint_info,
)


def test_coco_defaults():
    info = get_keypoint_info(get_config())
    assert info.num_keypoints == 17
    assert info.names[5] == "left_shoulder" and info.names[16] == "right_ankle"
    assert info.oks_sigmas.dtype == np.float32
    np.testing.assert_allclose(info.oks_sigmas[[0, 5, 11, 16]], [0.026, 0.079, 0.107, 0.089])
    assert info.upper_body_ids == tuple(range(11))
    # Every pair is (left_*, right_*) of the same body part.
    for left, right in COCO_FLIP_PAIRS:
        assert COCO_KEYPOINT_NAMES[left].replace("left", "right") == COCO_KEYPOINT_NAMES[right]
    assert info.sides[0] == "centre" and info.sides[1] == "left" and info.sides[2] == "right"
    assert list(info.flip_index[:5]) == [0, 2, 1, 4, 3]
    # COCO's json skeleton edge [16, 14] (1-based) is left_ankle - left_knee.
    assert COCO_SKELETON[0] == (15, 13)
    assert len(COCO_SKELETON) == 19


def test_five_keypoints_with_coco_sigmas_fails_at_setup():
    cfg = get_config(opts=["MODEL.NUM_JOINTS", "5"])
    with pytest.raises(KeypointSetError, match="5 keypoints but 17 sigmas"):
        get_keypoint_info(cfg)


def test_five_keypoints_with_own_sigmas():
    cfg = get_config(
        opts=["MODEL.NUM_JOINTS", "5", "DATASET.OKS_SIGMAS", str([0.025] * 5),
              "DATASET.FLIP_PAIRS", "[[1, 2], [3, 4]]"]
    )  # fmt: skip
    info = get_keypoint_info(cfg)
    np.testing.assert_allclose(info.oks_sigmas, [0.025] * 5)
    assert info.flip_pairs == ((1, 2), (3, 4))
    np.testing.assert_array_equal(info.weights, np.ones(5))


@pytest.mark.parametrize(
    "opts, message",
    [
        (["DATASET.FLIP_PAIRS", "[[1, 17]]"], "17 keypoints but flip pair \\[1, 17\\]"),
        (["DATASET.FLIP_PAIRS", "[[1, 2], [2, 3]]"], "keypoint 2 appears twice"),
        (["DATASET.KEYPOINT_WEIGHTS", "[1.0, 2.0]"], "17 keypoints but 2 keypoint weights"),
        (["DATASET.OKS_SIGMAS", str([0.1] * 16)], "17 keypoints but 16 sigmas"),
        (["DATASET.UPPER_BODY_IDS", "[0, 20]"], "UPPER_BODY_IDS has index 20"),
    ],
)
def test_bad_keypoint_lists(opts, message):
    with pytest.raises(KeypointSetError, match=message):
        get_keypoint_info(get_config(opts=opts))


def test_five_keypoints_with_coco_flip_pairs_named():
    cfg = get_config(
        opts=["MODEL.NUM_JOINTS", "5", "DATASET.OKS_SIGMAS", str([0.025] * 5),
              "DATASET.FLIP_PAIRS", str([list(p) for p in COCO_FLIP_PAIRS])]
    )  # fmt: skip
    with pytest.raises(KeypointSetError, match="5 keypoints but flip pair \\[5, 6\\]"):
        get_keypoint_info(cfg)
