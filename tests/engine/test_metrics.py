"""PCK accuracy on heatmap peaks."""

import numpy as np

from dypose.engine.metrics import keypoint_accuracy


def _heatmaps(points, size=(16, 20)):
    """(1, K, h, w) maps with a single peak at each (x, y); None gives an all-zero map."""
    h, w = size
    maps = np.zeros((1, len(points), h, w), dtype=np.float32)
    for k, point in enumerate(points):
        if point is not None:
            maps[0, k, point[1], point[0]] = 1.0
    return maps


def test_accuracy_counts_only_labelled_keypoints():
    # Normaliser (w/10, h/10) = (2, 1.6); threshold 0.5 -> 1 px in x is a distance 0.5.
    target = _heatmaps([(5, 5), (10, 8), (3, 3), None])
    output = _heatmaps([(5, 5), (10, 10), (3, 3), (7, 7)])
    per_keypoint, mean, counted, pred = keypoint_accuracy(output, target)
    np.testing.assert_allclose(per_keypoint, [1.0, 0.0, 1.0, -1.0])
    assert counted == 3
    assert abs(mean - 2 / 3) < 1e-6
    np.testing.assert_array_equal(pred[0, 1], [10, 10])


def test_accuracy_threshold_is_half_the_normaliser():
    target = _heatmaps([(5, 5)])
    # 0.9 px in x would be 0.45 < 0.5 but peaks are integer: 1 px in x = 0.5, not < 0.5.
    assert keypoint_accuracy(_heatmaps([(6, 5)]), target)[1] == 0.0
    # 1 px in y: 1 / 1.6 = 0.625 -> wrong as well; same pixel -> right.
    assert keypoint_accuracy(_heatmaps([(5, 6)]), target)[1] == 0.0
    assert keypoint_accuracy(_heatmaps([(5, 5)]), target)[1] == 1.0
