"""Training throughput (images/s) of experiment files, and the time a full COCO run takes.

    python benchmarks/bench_train_speed.py experiments/coco/mobilenetv2/*x1.0*.yaml
    python benchmarks/bench_train_speed.py --device cuda --amp experiments/coco/*/*.yaml

Times one training step (forward, weighted MSE, backward, Adam) on random crops at the
experiment's input size and batch size, median of --repeats steps after --warmup, and
prints images/s with the time 210 epochs of COCO train2017 would take at that rate on
one device (data loading excluded: it runs in parallel workers on a GPU machine). On
CUDA, --amp adds a mixed-precision row.
"""

import argparse
import os
import statistics
import time

import torch

from dypose.config import get_config
from dypose.engine.losses import build_loss
from dypose.models import build_model

# Persons with labelled keypoints in COCO person_keypoints_train2017 (HRNet's count).
COCO_TRAIN_PERSONS = 149813


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cfgs", nargs="+", help="experiment yaml files")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--amp", action="store_true", help="also time mixed precision (CUDA)")
    parser.add_argument("--batch", type=int, default=0, help="batch size (0: the yaml's)")
    parser.add_argument("--repeats", type=int, default=5, help="timed steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    return parser.parse_args()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(cfg, device: torch.device, batch: int, amp: bool, args) -> float:
    """Median seconds of one training step."""
    model = build_model(cfg).to(device).train()
    criterion = build_loss(cfg)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.TRAIN.LR)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    width, height = cfg.MODEL.IMAGE_SIZE
    hm_width, hm_height = cfg.MODEL.HEATMAP_SIZE
    k = cfg.MODEL.NUM_JOINTS
    images = torch.randn(batch, 3, height, width, device=device)
    target = torch.rand(batch, k, hm_height, hm_width, device=device)
    weight = torch.ones(batch, k, 1, device=device)

    times = []
    for step in range(args.warmup + args.repeats):
        _sync(device)
        start = time.perf_counter()
        with torch.autocast(device.type, enabled=amp):
            loss = criterion(model(images), target, weight)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        _sync(device)
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"torch {torch.__version__}, {name}, {torch.get_num_threads()} CPU threads")
    print(f"{'experiment':<40} {'precision':<9} {'batch':>5} {'img/s':>8} {'210 COCO epochs':>16}")
    for path in args.cfgs:
        cfg = get_config(path)
        batch = args.batch or cfg.TRAIN.BATCH_SIZE_PER_GPU
        modes = [False] + ([True] if args.amp and device.type == "cuda" else [])
        for amp in modes:
            rate = batch / time_steps(cfg, device, batch, amp, args)
            hours = COCO_TRAIN_PERSONS * cfg.TRAIN.END_EPOCH / rate / 3600
            label = os.path.splitext(os.path.basename(path))[0]
            precision = "amp" if amp else "fp32"
            print(f"{label:<40} {precision:<9} {batch:>5} {rate:>8.1f} {hours:>14.1f} h")


if __name__ == "__main__":
    main()
