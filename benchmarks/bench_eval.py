"""Times the evaluation post-processing on a synthetic COCO-sized workload.

500 images with about 750 ground-truth persons and 5,000 detector boxes (ten per
image, most of them jittered copies of a person, so OKS-NMS has work to do) and
seeded random heatmaps (K = 17, 64 x 48) with a bump near each true keypoint. Each
stage is timed separately (median of --runs runs): flip averaging and decoding run
batch by batch as in `dypose.evaluation.predict` (only the operation is timed, not
the making of the random batch), then rescoring, OKS-NMS, writing the results file
and COCOeval. --reference also times the straightforward per-keypoint / per-pair
loops (HRNet's style) once, for comparison.

    python benchmarks/bench_eval.py [--runs 5] [--threads 1] [--reference] [--device cuda]
"""

import argparse
import os
import statistics
import tempfile
import time

import numpy as np
import torch

from dypose.data.keypoints import COCO_FLIP_PAIRS, COCO_OKS_SIGMAS
from dypose.data.transforms import PIXEL_STD, box_to_center_scale, get_affine_transform
from dypose.evaluation import (
    BACKENDS,
    build_results,
    decode_heatmaps,
    flip_average,
    rescore,
    run_cocoeval,
    select_poses,
    write_results,
)
from dypose.evaluation.results import pose_areas

NUM_IMAGES, BOXES_PER_IMAGE, K = 500, 10, 17
HEATMAP_W, HEATMAP_H, BATCH = 48, 64, 32
HEATMAP_SIZE = (HEATMAP_W, HEATMAP_H)
IMAGE_W, IMAGE_H = 640, 480
OKS_THRE, IN_VIS_THRE = 0.9, 0.2


def make_ground_truth(rng):
    """COCO dict: 1-2 persons per image (about 750), keypoints inside their boxes."""
    images, annotations = [], []
    for image_id in range(1, NUM_IMAGES + 1):
        images.append({"id": image_id, "width": IMAGE_W, "height": IMAGE_H, "file_name": ""})
        for _ in range(rng.integers(1, 3)):
            w, h = rng.uniform(40, 200), rng.uniform(80, 400)
            x, y = rng.uniform(0, IMAGE_W - w), rng.uniform(0, IMAGE_H - h)
            kx, ky = rng.uniform(x, x + w, K), rng.uniform(y, y + h, K)
            visible = np.where(rng.random(K) < 0.8, 2.0, 0.0)
            flat = np.stack([kx * (visible > 0), ky * (visible > 0), visible], 1).reshape(-1)
            annotations.append({
                "id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                "bbox": [x, y, w, h], "area": 0.6 * w * h, "iscrowd": 0,
                "num_keypoints": int((visible > 0).sum()), "keypoints": flat.tolist(),
            })  # fmt: skip
    categories = [{"id": 1, "name": "person", "keypoints": [str(k) for k in range(K)]}]
    return {"images": images, "annotations": annotations, "categories": categories}


def make_detections(rng, gt):
    """Ten boxes per image: jittered copies of its persons, some random; box scores."""
    by_image = {}
    for ann in gt["annotations"]:
        by_image.setdefault(ann["image_id"], []).append(ann)
    boxes, image_ids, truth = [], [], []
    for image_id in range(1, NUM_IMAGES + 1):
        for _ in range(BOXES_PER_IMAGE):
            ann = by_image[image_id][rng.integers(len(by_image[image_id]))]
            jitter = rng.normal(0, 0.05, 4) * np.array(ann["bbox"])[[2, 3, 2, 3]]
            boxes.append(np.array(ann["bbox"]) + jitter)
            image_ids.append(image_id)
            truth.append(np.array(ann["keypoints"]).reshape(K, 3))
    centers, scales = zip(*(box_to_center_scale(b, HEATMAP_W / HEATMAP_H) for b in boxes))
    return {
        "centers": np.stack(centers), "scales": np.stack(scales),
        "scores": rng.uniform(0.1, 1.0, len(boxes)).astype(np.float32),
        "image_ids": np.array(image_ids), "truth": np.stack(truth),
    }  # fmt: skip


def heatmap_batch(gen, dets, start):
    """Random (B, K, h, w) heatmaps with a bump near each labelled keypoint."""
    stop = min(start + BATCH, len(dets["centers"]))
    cells = np.zeros((stop - start, K, 2))
    for i, n in enumerate(range(start, stop)):
        matrix = get_affine_transform(
            dets["centers"][n], dets["scales"][n], 0, (HEATMAP_W, HEATMAP_H)
        )
        cells[i] = dets["truth"][n, :, :2] @ matrix[:, :2].T + matrix[:, 2]
    cells = torch.from_numpy(cells).float() + torch.randn(stop - start, K, 2, generator=gen)
    gx = torch.exp(-((torch.arange(HEATMAP_W) - cells[..., :1]) ** 2) / 8.0)
    gy = torch.exp(-((torch.arange(HEATMAP_H) - cells[..., 1:]) ** 2) / 8.0)
    noise = torch.rand(stop - start, K, HEATMAP_H, HEATMAP_W, generator=gen) * 0.1
    return noise + gy[..., :, None] * gx[..., None, :], slice(start, stop)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_batched(gen, dets, keypoints_out, device):
    """Seconds spent in flip averaging and in decoding, summed over the batches."""
    flip_s = decode_s = 0.0
    for start in range(0, len(dets["centers"]), BATCH):
        heatmaps, rows = heatmap_batch(gen, dets, start)
        heatmaps = heatmaps.to(device)
        flipped = heatmaps.flip(3) + 0.01  # a mirror output: same statistics
        _sync(device)
        tic = time.perf_counter()
        averaged = flip_average(heatmaps, flipped, COCO_FLIP_PAIRS, shift=True, inplace=True)
        _sync(device)
        flip_s += time.perf_counter() - tic
        tic = time.perf_counter()
        coords, peaks = decode_heatmaps(averaged, dets["centers"][rows], dets["scales"][rows])
        decode_s += time.perf_counter() - tic
        keypoints_out[rows, :, :2], keypoints_out[rows, :, 2] = coords, peaks
    return flip_s, decode_s


def timed(function, *args):
    tic = time.perf_counter()
    value = function(*args)
    return time.perf_counter() - tic, value


def one_run(seed, dets, gt, folder, backends, device):
    """The stage timings (seconds) of one pass over the workload."""
    gen = torch.Generator().manual_seed(seed)
    keypoints = np.zeros((len(dets["centers"]), K, 3), np.float32)
    times = dict(zip(("flip averaging", "decoding"), time_batched(gen, dets, keypoints, device)))
    preds = dict(dets, keypoints=keypoints)
    times["rescoring"], scores = timed(rescore, keypoints[..., 2], dets["scores"], IN_VIS_THRE)
    areas = pose_areas(dets["scales"])
    times["OKS-NMS"], (kept, kept_scores) = timed(
        select_poses, dets["image_ids"], keypoints, scores, areas, COCO_OKS_SIGMAS, OKS_THRE
    )
    path = os.path.join(folder, "results.json")
    tic = time.perf_counter()
    results = build_results(preds, kept, kept_scores)
    write_results(results, path, normalize=False)
    times["results file"] = time.perf_counter() - tic
    for backend in backends:
        times[f"COCOeval ({backend})"], stats = timed(
            run_cocoeval, gt, results, COCO_OKS_SIGMAS, backend
        )
    return times, len(kept), stats


def reference_times(dets, gt, seed):
    """The straightforward loops once: HRNet-style flip, decode and NMS."""
    from dypose.data.transforms import transform_points
    from dypose.evaluation.nms import group_by_image

    gen = torch.Generator().manual_seed(seed)
    flip_s = decode_s = 0.0
    keypoints = np.zeros((len(dets["centers"]), K, 3))
    for start in range(0, len(dets["centers"]), BATCH):
        heatmaps, rows = heatmap_batch(gen, dets, start)
        tic = time.perf_counter()
        back = np.flip(heatmaps.flip(3).numpy(), 3).copy()  # numpy round trip per batch
        for left, right in COCO_FLIP_PAIRS:
            back[:, [left, right]] = back[:, [right, left]]
        back[:, :, :, 1:] = back.copy()[:, :, :, :-1]
        averaged = (heatmaps.numpy() + back) * 0.5
        flip_s += time.perf_counter() - tic
        tic = time.perf_counter()
        for i, n in enumerate(range(rows.start, rows.stop)):
            matrix = get_affine_transform(
                dets["centers"][n], dets["scales"][n], 0, (HEATMAP_W, HEATMAP_H), inverse=True
            )
            for k in range(K):
                hm = averaged[i, k]
                idx = int(np.argmax(hm))
                px, py = idx % HEATMAP_W, idx // HEATMAP_W
                x, y = float(px), float(py)
                if 1 < px < HEATMAP_W - 1 and 1 < py < HEATMAP_H - 1:
                    x += 0.25 * np.sign(hm[py, px + 1] - hm[py, px - 1])
                    y += 0.25 * np.sign(hm[py + 1, px] - hm[py - 1, px])
                keypoints[n, k, :2] = transform_points(np.array([x, y]), matrix)
                keypoints[n, k, 2] = hm.max()
        decode_s += time.perf_counter() - tic
    tic = time.perf_counter()
    sigmas = np.array(COCO_OKS_SIGMAS)
    variances = (2 * sigmas) ** 2
    areas = np.prod(dets["scales"] * PIXEL_STD, 1)
    for members in group_by_image(dets["image_ids"]):
        order = list(members[np.argsort(dets["scores"][members])[::-1]])
        while order:
            best = order.pop(0)
            survivors = []
            for j in order:
                d2 = ((keypoints[j, :, :2] - keypoints[best, :, :2]) ** 2).sum(1)
                e = d2 / variances / ((areas[best] + areas[j]) / 2 + np.spacing(1)) / 2
                if np.mean(np.exp(-e)) <= OKS_THRE:
                    survivors.append(j)
            order = survivors
    nms_s = time.perf_counter() - tic
    return {"flip averaging": flip_s, "decoding": decode_s, "OKS-NMS": nms_s}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    # The timed CPU stages are single-threaded numpy; idle torch threads only contend.
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", action="store_true")
    parser.add_argument("--device", default="cpu", help="where heatmaps live (cpu, cuda)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    gt = make_ground_truth(rng)
    dets = make_detections(rng, gt)
    backends = ["pycocotools"]
    try:
        import faster_coco_eval  # noqa: F401

        backends.append(BACKENDS[1])
    except ImportError:
        pass

    runs = []
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            times, kept, stats = one_run(
                args.seed + run, dets, gt, folder, backends, torch.device(args.device)
            )
            runs.append(times)
    medians = {name: statistics.median(r[name] for r in runs) for name in runs[0]}
    minima = {name: min(r[name] for r in runs) for name in runs[0]}
    reference = reference_times(dets, gt, args.seed) if args.reference else {}

    print(f"{len(gt['images'])} images, {len(gt['annotations'])} persons, "
          f"{len(dets['centers'])} boxes, {kept} kept by OKS-NMS; AP {stats['AP']:.3f}; "
          f"{args.runs} runs on {args.device}, torch threads {args.threads}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")  # fmt: skip
    print("| stage | median s | min s | straightforward s (1 run) |")
    print("|---|---|---|---|")
    for name in medians:
        extra = f"{reference[name]:.3f}" if name in reference else ""
        print(f"| {name} | {medians[name]:.3f} | {minima[name]:.3f} | {extra} |")
    post = [n for n in medians if not n.startswith("COCOeval")]
    extra = f"{sum(reference.values()):.3f} (3 stages)" if reference else ""
    print(
        f"| all but COCOeval | {sum(medians[n] for n in post):.3f} | "
        f"{sum(minima[n] for n in post):.3f} | {extra} |"
    )


if __name__ == "__main__":
    main()
