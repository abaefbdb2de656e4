"""Speed of the data pipeline: samples per second in train and val mode, and where the
time goes (decode, warp, target, normalise), beside the straightforward pipeline.

A fixed set of 640x480 JPEGs (about 150 KB, one to three persons each, from the
synthetic generator with a fixed seed) is written to a temporary folder. Each mode is
timed over every person crop, --runs times, in one process; the figures are medians.
"Straightforward" is the pipeline as commonly written (HRNet's): full-size decode, a
mirrored copy of the image when flipping, per-keypoint loops for keypoints and
targets, torchvision's to_tensor + normalize. Its targets are checked to be identical
to DyPose's. Finally the DataLoader rate with 2 workers (batch 32).

    python benchmarks/bench_data.py [--images 40] [--runs 7] [--cv-threads 1] [--input 192x256]
"""

import argparse
import json
import math
import os
import statistics
import tempfile
import time

import cv2
import numpy as np
import torch
from torchvision.transforms import functional as TF

from dypose.config import get_config
from dypose.data import build_dataset, build_loader
from dypose.data.dataset import IMAGENET_MEAN, IMAGENET_STD
from dypose.data.synthetic import render_image
from dypose.data.transforms import get_affine_transform

WIDTH, HEIGHT = 640, 480
# Quality 97 makes these synthetic frames about 150 KB, like a COCO val2017 image.
JPEG_QUALITY = 97
IMAGE_SET = "bench"


def write_images(root: str, count: int) -> float:
    """Writes the benchmark set; returns the mean file size in KB."""
    folder = os.path.join(root, "images", IMAGE_SET)
    os.makedirs(folder, exist_ok=True)
    images, annotations, sizes = [], [], []
    seed = 0
    while len(images) < count:
        seed += 1
        image, persons = render_image(np.random.default_rng([7, seed]), WIDTH, HEIGHT)
        if not 1 <= len(persons) <= 3:
            continue
        name = f"{len(images):04d}.jpg"
        path = os.path.join(folder, name)
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(path, bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        sizes.append(os.path.getsize(path) / 1024)
        image_id = len(images) + 1
        images.append({"id": image_id, "file_name": name, "width": WIDTH, "height": HEIGHT})
        for keypoints, box, area in persons:
            annotations.append(
                {"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                 "bbox": box, "area": area, "iscrowd": 0, "keypoints": keypoints,
                 "num_keypoints": sum(1 for v in keypoints[2::3] if v > 0)}
            )  # fmt: skip
    os.makedirs(os.path.join(root, "annotations"), exist_ok=True)
    with open(os.path.join(root, "annotations", f"person_keypoints_{IMAGE_SET}.json"), "w") as f:
        json.dump({"images": images, "annotations": annotations, "categories": []}, f)
    return float(np.mean(sizes))


def loop_targets(keypoints, heatmap_size, stride, sigma):
    """The straightforward per-keypoint target loop (HRNet's, without its clamping)."""
    width, height = heatmap_size
    radius = int(3 * sigma)
    offsets = np.arange(2 * radius + 1, dtype=np.float64) - radius
    patch = np.exp(-(offsets[None, :] ** 2 + offsets[:, None] ** 2) / (2 * sigma**2))
    target = np.zeros((len(keypoints), height, width), dtype=np.float32)
    weight = np.zeros((len(keypoints), 1), dtype=np.float32)
    for k, (x, y, v) in enumerate(keypoints):
        mu_x, mu_y = math.floor(x / stride[0] + 0.5), math.floor(y / stride[1] + 0.5)
        left, top, right, bottom = (
            mu_x - radius,
            mu_y - radius,
            mu_x + radius + 1,
            mu_y + radius + 1,
        )
        if v <= 0 or left >= width or top >= height or right <= 0 or bottom <= 0:
            continue
        weight[k] = 1.0
        x0, x1, y0, y1 = max(0, left), min(width, right), max(0, top), min(height, bottom)
        target[k, y0:y1, x0:x1] = patch[y0 - top : y1 - top, x0 - left : x1 - left]
    return target, weight


def straightforward_item(dataset, index):
    """One sample the common way, with the same random draws as DyPose's plan."""
    plan = dataset.plan(index)
    record, params = plan["record"], plan["params"]
    image = cv2.imread(record["image_path"], cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    keypoints = np.array(record["keypoints"], dtype=np.float32)
    center = plan["center"].copy()
    if params.flip:
        image = image[:, ::-1].copy()
        width = image.shape[1]
        keypoints[:, 0] = width - 1 - keypoints[:, 0]
        for left, right in dataset.keypoint_info.flip_pairs:
            keypoints[[left, right]] = keypoints[[right, left]]
        keypoints[:, :2] *= keypoints[:, 2:3] > 0
        center[0] = width - 1 - center[0]
    matrix = get_affine_transform(center, plan["scale"], params.rotation, dataset.image_size)
    crop = cv2.warpAffine(image, matrix, dataset.image_size, flags=cv2.INTER_LINEAR)
    for k in range(len(keypoints)):
        if keypoints[k, 2] > 0:
            keypoints[k, :2] = matrix[:, :2] @ keypoints[k, :2] + matrix[:, 2]
    target, weight = loop_targets(keypoints, dataset.heatmap_size, dataset.stride, dataset.sigma)
    tensor = TF.normalize(TF.to_tensor(crop), IMAGENET_MEAN.tolist(), IMAGENET_STD.tolist())
    return tensor, target, weight


def time_items(dataset, runs: int):
    """Median over runs of the mean ms per sample of DyPose's item and the straightforward one.

    The two are timed alternately, sample by sample, with the same random draws, so that
    load from other processes hits both alike.
    """
    fast_runs, plain_runs = [], []
    for run in range(runs):
        fast = plain = 0.0
        for index in range(len(dataset)):
            dataset.reseed(run * 100_003 + index)
            start = time.perf_counter()
            dataset[index]
            middle = time.perf_counter()
            dataset.reseed(run * 100_003 + index)
            straightforward_item(dataset, index)
            fast += middle - start
            plain += time.perf_counter() - middle
        fast_runs.append(fast / len(dataset) * 1e3)
        plain_runs.append(plain / len(dataset) * 1e3)
    return statistics.median(fast_runs), statistics.median(plain_runs)


def stage_breakdown(dataset, runs: int) -> dict:
    """Median ms per sample of each step of DyPose's item."""
    totals = {name: [] for name in ("plan", "decode", "warp", "target", "normalise")}
    for run in range(runs):
        dataset.reseed(run)
        spent = dict.fromkeys(totals, 0.0)
        for index in range(len(dataset)):
            t0 = time.perf_counter()
            plan = dataset.plan(index)
            t1 = time.perf_counter()
            image, width, _ = dataset._read(plan["record"], plan["reduce"])
            t2 = time.perf_counter()
            crop, keypoints = dataset.crop(image, plan, width)
            t3 = time.perf_counter()
            dataset.targets(keypoints)
            t4 = time.perf_counter()
            dataset.normalize(crop)
            t5 = time.perf_counter()
            for name, seconds in zip(totals, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
                spent[name] += seconds
        for name in totals:
            totals[name].append(spent[name] / len(dataset) * 1e3)
    return {name: statistics.median(values) for name, values in totals.items()}


def decode_factors(dataset) -> str:
    """How many samples of one pass decode at full, half and quarter size."""
    dataset.reseed(0)
    factors = [dataset.plan(index)["reduce"] for index in range(len(dataset))]
    return ", ".join(str(factors.count(f)) for f in (1, 2, 4))


def check_targets_identical(dataset) -> bool:
    for index in range(len(dataset)):
        dataset.reseed(index)
        _, target, weight, _ = dataset[index]
        dataset.reseed(index)
        _, ref_target, ref_weight = straightforward_item(dataset, index)
        # Reduced decoding changes pixels, never keypoints: the targets must agree exactly.
        if not (np.array_equal(target.numpy(), ref_target) and np.array_equal(weight, ref_weight)):
            return False
    return True


def loader_rate(cfg, dataset, epochs: int = 2) -> float:
    loader = build_loader(cfg, dataset, train=True)
    start, count = time.perf_counter(), 0
    for _ in range(epochs):
        for images, *_ in loader:
            count += images.shape[0]
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40, help="JPEGs in the fixed set")
    parser.add_argument("--runs", type=int, default=7, help="timed passes per figure")
    parser.add_argument("--cv-threads", type=int, default=1, help="cv2.setNumThreads value")
    parser.add_argument("--input", default="192x256", help="network input WxH (heatmaps 1/4)")
    args = parser.parse_args()
    cv2.setNumThreads(args.cv_threads)
    torch.set_num_threads(1)

    width, height = (int(v) for v in args.input.split("x"))
    with tempfile.TemporaryDirectory() as root:
        mean_kb = write_images(root, args.images)
        opts = ["DATASET.ROOT", root, "DATASET.TRAIN_SET", IMAGE_SET, "DATASET.TEST_SET",
                IMAGE_SET, "WORKERS", "2", "TRAIN.BATCH_SIZE_PER_GPU", "32",
                "MODEL.IMAGE_SIZE", f"[{width}, {height}]",
                "MODEL.HEATMAP_SIZE", f"[{width // 4}, {height // 4}]"]  # fmt: skip
        cfg = get_config(opts=opts)
        train, val = build_dataset(cfg, "train"), build_dataset(cfg, "val")
        print(f"{args.images} JPEGs {WIDTH}x{HEIGHT}, mean {mean_kb:.0f} KB, {len(train)} "
              f"person crops {height}x{width}, median of {args.runs} runs, cv2 threads "
              f"{args.cv_threads}")  # fmt: skip
        for name, dataset in (("train", train), ("val", val)):
            fast, plain = time_items(dataset, args.runs)
            stages = stage_breakdown(dataset, args.runs)
            print(f"{name:5s}: {fast:.2f} ms/sample ({1e3 / fast:.0f} samples/s); "
                  f"straightforward {plain:.2f} ms ({plain / fast:.2f}x slower)")  # fmt: skip
            print("       " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()) + " ms; "
                  f"decoded at 1/1, 1/2, 1/4: {decode_factors(dataset)}")  # fmt: skip
        print(f"train targets identical to the per-keypoint loop: {check_targets_identical(train)}")
        print(f"DataLoader, 2 workers, batch 32: {loader_rate(cfg, train):.0f} samples/s")


if __name__ == "__main__":
    main()
