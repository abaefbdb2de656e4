"""Pixel checks of draw_keypoints on blank images."""

import numpy as np
import pytest

from dypose.visualization.draw import draw_keypoints, write_image

LEFT, RIGHT, CENTER = (0, 255, 0), (255, 0, 0), (0, 0, 255)
COLORS = {"left": LEFT, "right": RIGHT, "center": CENTER}
SIDES = ["center", "left", "right"]
BLANK = np.zeros((100, 120, 3), np.uint8)


def _draw(keypoints, scores, skeleton=((0, 1), (1, 2)), **kwargs):
    return draw_keypoints(
        BLANK, keypoints, scores, skeleton=skeleton, sides=SIDES, colors=COLORS, radius=3, **kwargs
    )


def test_keypoint_colour_at_location_by_side():
    keypoints = np.array([[20.0, 30.0], [60.0, 30.0], [100.0, 70.0]])
    out = _draw(keypoints, np.ones(3), skeleton=())
    assert tuple(out[30, 20]) == CENTER
    assert tuple(out[30, 60]) == LEFT
    assert tuple(out[70, 100]) == RIGHT
    # Outside the radius the image stays blank.
    assert out[30, 40].sum() == 0 and out[50, 60].sum() == 0


def test_input_image_is_not_modified():
    image = BLANK.copy()
    draw_keypoints(image, np.array([[5.0, 5.0]]), np.ones(1), skeleton=(), sides=["left"])
    assert image.sum() == 0


def test_unlabelled_and_failed_keypoints_leave_origin_blank():
    # A zero-score keypoint at (0, 0) as COCO stores unlabelled ones, and NaN/inf ones.
    keypoints = np.array([[0.0, 0.0], [np.nan, 10.0], [np.inf, -np.inf]])
    out = _draw(keypoints, np.array([0.0, 1.0, 1.0]))
    assert out.sum() == 0


def test_edges_only_between_passing_keypoints():
    keypoints = np.array([[20.0, 50.0], [60.0, 50.0], [100.0, 50.0]])
    # Keypoint 2 fails the threshold: edge 0-1 is drawn, edge 1-2 is not.
    out = _draw(keypoints, np.array([0.9, 0.5, 0.1]), threshold=0.3)
    # Midpoint of edge 0-1 (ends of different sides: centre colour).
    assert tuple(out[50, 40]) == CENTER
    assert out[50, 80].sum() == 0 and out[50, 100].sum() == 0
    # Both drawn ends keep their side's colour on top of the edge.
    assert tuple(out[50, 20]) == CENTER and tuple(out[50, 60]) == LEFT


def test_same_side_edge_takes_that_side_colour():
    keypoints = np.array([[10.0, 10.0], [30.0, 80.0], [90.0, 80.0]])
    out = draw_keypoints(
        BLANK, keypoints, np.ones(3), skeleton=[(1, 2)], sides=["left", "right", "right"],
        colors=COLORS, radius=3,
    )  # fmt: skip
    assert tuple(out[80, 60]) == RIGHT


def test_radius_scales_with_person_size():
    big = np.zeros((600, 600, 3), np.uint8)
    point = np.array([[[300.0, 300.0]]])
    small_box, large_box = [[250, 250, 100, 100]], [[0, 0, 600, 600]]
    kwargs = dict(skeleton=(), sides=["left"], colors=COLORS)
    out_small = draw_keypoints(big, point, np.ones((1, 1)), boxes=small_box, **kwargs)
    out_large = draw_keypoints(big, point, np.ones((1, 1)), boxes=large_box, **kwargs)
    row = 300

    def width(img):
        return int((img[row, 250:350] == LEFT).all(axis=1).sum())

    assert width(out_large) > width(out_small) >= 3


def test_box_and_score_text_drawn():
    out = draw_keypoints(
        BLANK, np.array([[[50.0, 50.0]]]), np.ones((1, 1)), skeleton=(), sides=["left"],
        boxes=[[20, 30, 60, 50]], box_scores=[0.87], colors=COLORS,
    )  # fmt: skip
    assert (out[30, 50] == 255).all()  # top edge of the box, white
    assert (out[55, 80] == 255).all()  # right edge x = 20 + 60
    assert out[10:28, 20:60].max() > 0  # text above the box


def test_multiple_people_and_third_column_scores():
    keypoints = np.zeros((2, 3, 3))
    keypoints[0, :, :2] = [[10, 10], [20, 10], [30, 10]]
    keypoints[1, :, :2] = [[10, 90], [20, 90], [30, 90]]
    keypoints[0, :, 2] = 1.0  # first person all visible; second not at all
    out = _draw(keypoints, None, skeleton=())
    assert tuple(out[10, 20]) == LEFT
    assert out[80:, :].sum() == 0


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="keypoints must be"):
        draw_keypoints(BLANK, np.zeros(5), np.ones(5))
    with pytest.raises(ValueError, match="uint8 RGB"):
        draw_keypoints(BLANK.astype(np.float32), np.zeros((1, 2)), np.ones(1))
    with pytest.raises(ValueError, match="sides for"):
        draw_keypoints(BLANK, np.zeros((2, 2)), np.ones(2), skeleton=(), sides=["left"])
    with pytest.raises(ValueError, match="skeleton edge"):
        draw_keypoints(BLANK, np.zeros((2, 2)), np.ones(2), skeleton=[(0, 5)], sides=SIDES[:2])


def test_write_image_round_trip(tmp_path):
    import cv2

    image = np.zeros((8, 8, 3), np.uint8)
    image[..., 0] = 200  # red in RGB
    path = str(tmp_path / "a.png")
    write_image(path, image)
    bgr = cv2.imread(path)
    assert bgr[0, 0].tolist() == [0, 0, 200]


def test_coco_defaults_use_data_skeleton_and_side_colours():
    from dypose.data.keypoints import LEFT_COLOR, RIGHT_COLOR

    keypoints = np.full((17, 2), np.nan)
    keypoints[5] = [20, 20]  # left shoulder
    keypoints[7] = [20, 80]  # left elbow: edge 5-7 is in COCO's skeleton
    keypoints[6] = [100, 20]  # right shoulder, alone
    out = draw_keypoints(BLANK, keypoints, np.ones(17), radius=3)
    assert tuple(out[50, 20]) == LEFT_COLOR
    assert tuple(out[20, 100]) == RIGHT_COLOR
    # 5-6 joins a left and a right keypoint, both passing: drawn in the centre colour.
    from dypose.data.keypoints import CENTRE_COLOR

    assert tuple(out[20, 60]) == CENTRE_COLOR


def test_write_image_needs_a_known_extension(tmp_path):
    with pytest.raises(ValueError, match="cannot encode"):
        write_image(str(tmp_path / "noext"), np.zeros((4, 4, 3), np.uint8))
