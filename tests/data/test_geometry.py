"""Crop geometry against HRNet's three-point construction, computed independently."""

import cv2
import numpy as np
import pytest

from dypose.data.transforms import (
    PIXEL_STD,
    box_to_center_scale,
    get_affine_transform,
    transform_points,
)


def _three_point_transform(center, scale, rotation, output_size, inverse=False):
    """HRNet's construction: map the center and a rotated 'up' vector, close with a third point."""
    src_w = scale[0] * PIXEL_STD
    out_w, out_h = output_size
    theta = np.deg2rad(rotation)
    up = np.array([0.0, -0.5 * src_w])
    src_up = np.array(
        [
            up[0] * np.cos(theta) - up[1] * np.sin(theta),
            up[0] * np.sin(theta) + up[1] * np.cos(theta),
        ]
    )
    src = np.zeros((3, 2), np.float32)
    dst = np.zeros((3, 2), np.float32)
    src[0], src[1] = center, np.asarray(center) + src_up
    dst[0] = [0.5 * out_w, 0.5 * out_h]
    dst[1] = dst[0] + np.array([0.0, -0.5 * out_w])
    for pts in (src, dst):
        d = pts[0] - pts[1]
        pts[2] = pts[1] + np.array([-d[1], d[0]])
    return cv2.getAffineTransform(dst, src) if inverse else cv2.getAffineTransform(src, dst)


def test_tall_box_center_and_scale():
    # Issue 6, case 10: a 60x300 box grows to the 3:4 aspect, then 1.25x.
    center, scale = box_to_center_scale([130, 50, 60, 300], aspect_ratio=192 / 256)
    np.testing.assert_allclose(center, [160.0, 200.0])
    np.testing.assert_allclose(scale, [1.40625, 1.875])
    np.testing.assert_allclose(scale * PIXEL_STD, [281.25, 375.0])


def test_wide_box_grows_height():
    center, scale = box_to_center_scale([0, 0, 300, 100], aspect_ratio=0.75, padding=1.0)
    np.testing.assert_allclose(center, [150.0, 50.0])
    np.testing.assert_allclose(scale, [1.5, 2.0])


@pytest.mark.parametrize("rotation", [0.0, 30.0, -70.0, 90.0])
def test_matches_three_point_construction(rotation):
    center, scale = np.array([160.0, 200.0]), np.array([1.40625, 1.875])
    for inverse in (False, True):
        ours = get_affine_transform(center, scale, rotation, (192, 256), inverse=inverse)
        ref = _three_point_transform(center, scale, rotation, (192, 256), inverse=inverse)
        np.testing.assert_allclose(ours, ref, atol=1e-3)


def test_round_trip_and_center():
    center, scale = np.array([321.5, 240.25]), np.array([1.2, 1.6])
    forward = get_affine_transform(center, scale, 25.0, (192, 256))
    backward = get_affine_transform(center, scale, 25.0, (192, 256), inverse=True)
    np.testing.assert_allclose(transform_points(center, forward), [96.0, 128.0], atol=1e-9)
    points = np.random.default_rng(0).uniform(0, 640, size=(50, 2))
    np.testing.assert_allclose(
        transform_points(transform_points(points, forward), backward), points, atol=1e-9
    )
    # Equal pixels-per-pixel in x and y: the linear part is a scaled rotation.
    linear = forward[:, :2]
    np.testing.assert_allclose(linear @ linear.T, np.eye(2) * (192 / 240.0) ** 2, atol=1e-12)
