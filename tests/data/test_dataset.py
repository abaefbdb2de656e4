"""Dataset items: crop geometry, targets, augmentation consistency, worker seeding."""

import cv2
import numpy as np
import pytest
import torch

from dypose.config import get_config
from dypose.data import build_dataset, build_loader, load_records
from dypose.data.dataset import IMAGENET_MEAN, IMAGENET_STD
from dypose.data.transforms import box_to_center_scale, get_affine_transform, transform_points

DETECTIONS = "person_detection_results/COCO_val2017_detections_AP_H_56_person.json"


def sample_config(root, *opts):
    base = ["DATASET.ROOT", str(root), "DATASET.TRAIN_SET", "val2017"]
    return get_config(opts=base + ["TEST.COCO_BBOX_FILE", str(root / DETECTIONS), *opts])


def to_rgb(image: torch.Tensor) -> np.ndarray:
    """Undoes the ImageNet normalisation: (3, H, W) -> uint8-range (H, W, 3)."""
    array = image.numpy().transpose(1, 2, 0)
    return array * IMAGENET_STD * 255 + IMAGENET_MEAN * 255


def test_val_items_on_coco_sample(coco_sample):
    dataset = build_dataset(sample_config(coco_sample), "val")
    assert len(dataset) == 12 and dataset.image_set == "val2017"
    assert dataset.annotation_file.endswith("person_keypoints_val2017.json")
    for index in range(len(dataset)):
        image, target, weight, meta = dataset[index]
        record = dataset.records[index]
        assert image.shape == (3, 256, 192) and image.dtype == torch.float32
        assert target.shape == (17, 64, 48) and weight.shape == (17, 1)
        assert meta["image_id"] == record["image_id"] and meta["index"] == index
        assert meta["rotation"] == 0.0 and meta["score"] == 1.0
        # The box centre maps to the crop centre.
        x, y, w, h = record["box"]
        matrix = get_affine_transform(meta["center"], meta["scale"], 0.0, (192, 256))
        np.testing.assert_allclose(transform_points([x + w / 2, y + h / 2], matrix), [96, 128],
                                   atol=1e-3)  # fmt: skip
        # Target peaks sit at the keypoints' rounded heatmap cells.
        for k in np.flatnonzero(weight.numpy().ravel() > 0):
            peak = np.unravel_index(int(target[k].argmax()), (64, 48))
            cell = np.floor(meta["keypoints"][k, :2] / 4 + 0.5).astype(int)
            if 0 <= cell[0] < 48 and 0 <= cell[1] < 64:
                assert peak == (cell[1], cell[0])


def test_detection_items(coco_sample):
    cfg = sample_config(coco_sample, "TEST.USE_GT_BBOX", "False", "TEST.IMAGE_THRE", "0.3")
    dataset = build_dataset(cfg, "val")
    assert len(dataset) == 33
    image, target, weight, meta = dataset[0]
    assert float(weight.sum()) == 0.0 and meta["score"] == pytest.approx(0.99997318)


def test_crop_inverse_round_trip():
    rng = np.random.default_rng(3)
    for _ in range(50):
        center, scale = rng.uniform(0, 600, 2), rng.uniform(0.2, 3, 2)
        rotation = rng.uniform(-90, 90)
        forward = get_affine_transform(center, scale, rotation, (192, 256))
        inverse = get_affine_transform(center, scale, rotation, (192, 256), inverse=True)
        points = rng.uniform(-100, 700, (17, 2))
        back = transform_points(transform_points(points, forward), inverse)
        np.testing.assert_allclose(back, points, atol=1e-3)


def test_tall_narrow_detector_box(tmp_path, toy):
    # Issue 6, case 10: box [130, 50, 60, 300] at input 192x256.
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], [toy.standard_annotation()])
    det = tmp_path / "det.json"
    det.write_text('[{"image_id": 1, "category_id": 1, "bbox": [130, 50, 60, 300], "score": 0.9}]')
    cfg = toy.config_for(tmp_path, "TEST.COCO_BBOX_FILE", str(det))
    (record,) = load_records(cfg, "toy", use_gt_boxes=False)
    np.testing.assert_allclose(record["center"], [160, 200])
    np.testing.assert_allclose(record["scale"], [1.40625, 1.875])  # 281.25 x 375 px
    matrix = get_affine_transform(record["center"], record["scale"], 0.0, (192, 256))
    zoom_x, zoom_y = np.linalg.norm(matrix[:, 0]), np.linalg.norm(matrix[:, 1])
    assert zoom_x == pytest.approx(zoom_y) == pytest.approx(256 / 375)
    spread = np.column_stack([np.full(17, 160.0), np.linspace(50, 350, 17)])
    crop = transform_points(spread, matrix)
    assert np.all((crop >= 0) & (crop < [192, 256]))
    assert box_to_center_scale([130, 50, 60, 300], 0.75)[1][0] == pytest.approx(1.40625)


def marked_dataset(tmp_path, toy):
    """Standard person whose left wrist has a red square and right wrist a blue one."""
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], [toy.standard_annotation()])
    keypoints = np.reshape(toy.standard_keypoints(), (17, 3))
    image = np.full((480, 640, 3), 40, np.uint8)
    for index, bgr in ((9, (0, 0, 255)), (10, (255, 0, 0))):
        x, y = np.round(keypoints[index, :2]).astype(int)
        image[y - 6 : y + 7, x - 6 : x + 7] = bgr
    cv2.imwrite(str(tmp_path / "images" / "toy" / "img_1.jpg"), image,
                [cv2.IMWRITE_JPEG_QUALITY, 100])  # fmt: skip
    # A 96x128 input shrinks the 281x375 px crop ~2.9x: the JPEG is decoded at 1/2 size.
    return toy.config_for(
        tmp_path, "MODEL.IMAGE_SIZE", "[96, 128]", "MODEL.HEATMAP_SIZE", "[24, 32]",
        "DATASET.PROB_ROTATION", "1.0", "DATASET.PROB_HALF_BODY", "0.0",
    )  # fmt: skip


def test_train_crop_pixels_follow_keypoints(tmp_path, toy):
    dataset = build_dataset(marked_dataset(tmp_path, toy), "train")
    assert (
        dataset._reduce_factor(dataset.records[0]["image_path"], dataset.records[0]["scale"]) == 2
    )
    seen_flips = set()
    for _ in range(12):
        image, _, weight, meta = dataset[0]
        rgb = to_rgb(image)
        seen_flips.add(meta["flipped"])
        # After a mirror, keypoint 9 (left wrist) is the mirrored right wrist: blue.
        red, blue = (9, 10) if not meta["flipped"] else (10, 9)
        for index, channel in ((red, 0), (blue, 2)):
            if weight[index] == 0:
                continue
            x, y = np.round(meta["keypoints"][index, :2]).astype(int)
            if 1 <= x < 95 and 1 <= y < 127:
                assert rgb[y, x, channel] > 150 and rgb[y, x, 1] < 90
    assert seen_flips == {True, False}


def test_worker_streams_distinct_and_reproducible(tmp_path, toy):
    toy.write_coco(tmp_path, "toy", [toy.image_entry()], [toy.standard_annotation()])
    cfg = toy.config_for(tmp_path, "WORKERS", "2", "TRAIN.BATCH_SIZE_PER_GPU", "1",
                         "TRAIN.SHUFFLE", "False", "SEED", "5")  # fmt: skip
    dataset = build_dataset(cfg, "train")
    dataset.records = dataset.records * 4

    def rotations():
        loader = build_loader(cfg, dataset, train=True)
        return [float(meta["rotation"]) + float(meta["scale"][0, 0]) for _, _, _, meta in loader]

    first = rotations()
    assert first == rotations()
    # Items 0 and 1 are each their worker's first draw: different streams.
    assert first[0] != first[1]
