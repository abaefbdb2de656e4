"""Tests of predict (flip test, meta plumbing) and the ground-truth-heatmap double."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from dypose.config import get_config
from dypose.data.coco import annotation_file, load_records
from dypose.data.keypoints import get_keypoint_info, make_keypoint_info
from dypose.data.targets import render_targets
from dypose.data.transforms import get_affine_transform, transform_points
from dypose.evaluation import decode_heatmaps, evaluate_predictions, predict

# One bright crop pixel per sample at (SPOT_X, SPOT_Y) of a 192x256 crop.
SPOT_X, SPOT_Y = 101, 62
STRIDE = 4


class SpotDataset(Dataset):
    """Crops holding one bright pixel; meta as dypose.data.build_dataset gives it."""

    keypoint_info = make_keypoint_info(17)

    def __len__(self):
        return 3

    def __getitem__(self, index):
        image = torch.zeros(3, 256, 192)
        image[0, SPOT_Y, SPOT_X] = 1.0
        meta = {
            "image_id": 10 + index,
            "index": index,
            "center": np.array([300.0 + index, 200.0], np.float32),
            "scale": np.array([1.5, 2.0], np.float32),
            "rotation": 0.0,
            "score": 0.5 + 0.1 * index,
            "area": 1000.0 * (index + 1),
            "keypoints": np.zeros((17, 3), np.float32),
            "image_path": f"{index}.jpg",
        }
        return image, torch.zeros(17, 64, 48), torch.ones(17, 1), meta


class SpotModel(torch.nn.Module):
    """Every keypoint's heatmap is channel 0 max-pooled by the stride (left/right alike)."""

    def __init__(self):
        super().__init__()
        self.pool = torch.nn.MaxPool2d(STRIDE)

    def forward(self, x):
        return self.pool(x[:, :1]).repeat(1, 17, 1, 1)


def _expected_x(heatmap_x, center_x, scale_x):
    return (heatmap_x - 24.0) * scale_x * 200.0 / 48.0 + center_x


def test_predict_without_flip_decodes_the_spot():
    cfg = get_config(None, ["TEST.FLIP_TEST", "False"])
    loader = DataLoader(SpotDataset(), batch_size=2)
    preds = predict(SpotModel(), loader, cfg, "cpu")
    assert preds["keypoints"].shape == (3, 17, 3)
    # Cell (25, 15); its neighbours are 0, so no quarter step.
    x = _expected_x(SPOT_X // STRIDE, 300.0 + np.arange(3), 1.5)
    y = (SPOT_Y // STRIDE - 32.0) * 1.5 * 200.0 / 48.0 + 200.0
    np.testing.assert_allclose(preds["keypoints"][:, 0, 0], x, rtol=1e-6)
    np.testing.assert_allclose(preds["keypoints"][:, 5, 1], y, rtol=1e-6)
    np.testing.assert_allclose(preds["keypoints"][:, :, 2], 1.0)
    assert preds["image_ids"].tolist() == [10, 11, 12]
    assert preds["indices"].tolist() == [0, 1, 2]
    np.testing.assert_allclose(preds["scores"], [0.5, 0.6, 0.7], rtol=1e-6)
    np.testing.assert_allclose(preds["areas"], [1000.0, 2000.0, 3000.0])
    np.testing.assert_allclose(preds["scales"], np.tile([1.5, 2.0], (3, 1)))


def test_predict_flip_test_averages_the_shifted_mirror():
    cfg = get_config(None, ["TEST.FLIP_TEST", "True", "TEST.SHIFT_HEATMAP", "True"])
    model = SpotModel().train()
    preds = predict(model, DataLoader(SpotDataset(), batch_size=2), cfg, "cpu")
    assert model.training  # mode restored
    # Original peak at cell 25; the mirror's spot at x = 191 - 101 = 90 pools to cell 22,
    # flips back to 47 - 22 = 25 and shifts to 26: two 0.5 peaks at 25 and 26; the
    # argmax takes 25 and the quarter step moves toward 26.
    x = _expected_x(25.25, 300.0, 1.5)
    assert preds["keypoints"][0, 3, 0] == pytest.approx(x, rel=1e-6)
    assert preds["keypoints"][0, 3, 2] == pytest.approx(0.5)


def _ground_truth_heatmaps(records, cfg):
    """The test double of the network: Gaussian targets of the labelled keypoints."""
    image_size = cfg.MODEL.IMAGE_SIZE
    heatmap_size = cfg.MODEL.HEATMAP_SIZE
    stride = (image_size[0] / heatmap_size[0], image_size[1] / heatmap_size[1])
    heatmaps = []
    for record in records:
        matrix = get_affine_transform(record["center"], record["scale"], 0, image_size)
        crop = record["keypoints"].astype(np.float64).copy()
        crop[:, :2] = transform_points(crop[:, :2], matrix)
        target, _ = render_targets(crop, heatmap_size, stride, cfg.MODEL.SIGMA)
        heatmaps.append(target)
    return np.stack(heatmaps)


def test_ground_truth_heatmaps_give_ap_above_095(coco_sample, tmp_path):
    cfg = get_config(None, ["DATASET.ROOT", str(coco_sample), "DATASET.TEST_SET", "val2017"])
    records = load_records(cfg, "val2017", use_gt_boxes=True)
    centers = np.stack([r["center"] for r in records])
    scales = np.stack([r["scale"] for r in records])
    coords, peaks = decode_heatmaps(_ground_truth_heatmaps(records, cfg), centers, scales)
    preds = {
        "keypoints": np.concatenate([coords, peaks[..., None]], axis=2),
        "centers": centers,
        "scales": scales,
        "areas": np.array([r["area"] for r in records]),
        "scores": np.array([r["score"] for r in records]),
        "image_ids": np.array([r["image_id"] for r in records]),
        "indices": np.arange(len(records)),
    }
    stats, _ = evaluate_predictions(
        preds, cfg, annotation_file(str(coco_sample), "val2017"), str(tmp_path),
        get_keypoint_info(cfg),
    )  # fmt: skip
    assert stats["AP"] >= 0.95


class TargetOracle(torch.nn.Module):
    """Test double of the network: returns the ground-truth heatmaps of each batch."""

    def __init__(self, targets):
        super().__init__()
        self.targets = list(targets)

    def forward(self, images):
        return self.targets.pop(0)


def test_predict_with_ground_truth_heatmaps_through_the_dataset(coco_sample, tmp_path):
    from dypose.data import build_dataset

    cfg = get_config(
        None,
        ["DATASET.ROOT", str(coco_sample), "TEST.FLIP_TEST", "False", "WORKERS", "0",
         "TEST.BATCH_SIZE_PER_GPU", "5"],
    )  # fmt: skip
    dataset = build_dataset(cfg, "val")
    loader = DataLoader(dataset, batch_size=5)
    targets = [target for _, target, _, _ in loader]
    preds = predict(TargetOracle(targets), loader, cfg, "cpu")
    assert preds["indices"].tolist() == list(range(len(dataset)))
    stats, _ = evaluate_predictions(
        preds, cfg, dataset.annotation_file, str(tmp_path), dataset.keypoint_info
    )
    assert stats["AP"] >= 0.95
