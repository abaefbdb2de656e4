"""CPU latency of the DY-ReLU-C pose networks relative to their static twins.

For each backbone, builds the static and the DY-ReLU-C (K=2, backbone and head) network of
Table 10 and times, alternating between the two so that load on a shared machine hits both
alike: inference in eval mode at batch 1 and batch 32, and one training step (forward, MSE
loss, backward, Adam) at batch 32. Prints medians and the ratio dynamic / static.

    python benchmarks/bench_models.py --threads 1 --clock cpu     # eager, all backbones
    python benchmarks/bench_models.py --backbones mobilenetv2 --batch-sizes 32 --compile

On a machine shared with other jobs, --threads 1 --clock cpu gives stable ratios (wall time
there mostly measures the other jobs, and thread wake-ups inflate the many small ops of the
DY-ReLU network). The compiled grid takes many minutes; keep it out of CI.
"""

import argparse
import statistics
import time

import torch

from dypose.config import get_config
from dypose.models import build_model

BACKBONES = {
    "mobilenetv2": ["MODEL.BACKBONE.NAME", "mobilenetv2", "MODEL.BACKBONE.WIDTH", "1.0"],
    "mobilenetv2_x0.5": ["MODEL.BACKBONE.NAME", "mobilenetv2", "MODEL.BACKBONE.WIDTH", "0.5"],
    "mobilenetv3_large": ["MODEL.BACKBONE.NAME", "mobilenetv3_large"],
    "mobilenetv3_small": ["MODEL.BACKBONE.NAME", "mobilenetv3_small"],
}
NUM_KEYPOINTS = 17
# "cpu" (process CPU time) ignores time spent descheduled, so that on a shared machine with
# --threads 1 it measures the work itself; "wall" is what a user waits.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _model(backbone: str, kind: str, compile_model: bool):
    opts = BACKBONES[backbone] + [
        "MODEL.BACKBONE.ACTIVATION.KIND",
        kind,
        "MODEL.HEAD.ACTIVATION.KIND",
        kind,
        "MODEL.COMPILE",
        str(compile_model),
    ]
    cfg = get_config(None, opts)
    return build_model(cfg), cfg


def _inference_step(model, images):
    def step():
        with torch.no_grad():
            model(images)

    return step


def _training_step(model, images, targets):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(images), targets)
        loss.backward()
        optimizer.step()

    return step


def _interleaved(steps: dict, repeats: int, warmup: int, clock=time.perf_counter) -> dict:
    """Median seconds per step, alternating the steps each repeat (after warm-up calls)."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = clock()
            step()
            times[name].append(clock() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def bench_backbone(backbone: str, args) -> list:
    rows = []
    kinds = ("static", "dyrelu_c")
    for batch in args.batch_sizes:
        models = {kind: _model(backbone, kind, args.compile) for kind in kinds}
        w, h = models["static"][1].MODEL.IMAGE_SIZE
        images = torch.randn(batch, 3, h, w)
        steps = {}
        for kind, (model, _) in models.items():
            model.eval()
            steps[kind] = _inference_step(model, images)
        med = _interleaved(steps, args.repeats, args.warmup, CLOCKS[args.clock])
        rows.append((backbone, f"eval b{batch}", med["static"], med["dyrelu_c"]))
    if args.train_batch:
        batch = args.train_batch
        models = {kind: _model(backbone, kind, args.compile) for kind in kinds}
        cfg = models["static"][1]
        w, h = cfg.MODEL.IMAGE_SIZE
        hw, hh = cfg.MODEL.HEATMAP_SIZE
        images = torch.randn(batch, 3, h, w)
        targets = torch.rand(batch, NUM_KEYPOINTS, hh, hw)
        steps = {}
        for kind, (model, _) in models.items():
            model.train()
            steps[kind] = _training_step(model, images, targets)
        med = _interleaved(steps, args.repeats, args.warmup, CLOCKS[args.clock])
        rows.append((backbone, f"train b{batch}", med["static"], med["dyrelu_c"]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=list(BACKBONES), choices=BACKBONES)
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per network")
    parser.add_argument("--warmup", type=int, default=1, help="untimed runs first (compile)")
    parser.add_argument(
        "--batch-sizes",
        type=int,
        nargs="*",
        default=[1, 32],
        help="inference batch sizes (none: skip inference)",
    )
    parser.add_argument("--train-batch", type=int, default=32, help="0 skips the train step")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--compile", action="store_true", help="torch.compile both networks")
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        default="wall",
        help="wall time, or process CPU time (robust on a shared machine with --threads 1)",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.compile:
        args.warmup = max(args.warmup, 2)

    mode = "compiled" if args.compile else "eager"
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {mode}, "
        f"{args.clock} clock, median of {args.repeats} interleaved runs"
    )
    print(f"{'backbone':<18} {'step':<10} {'static ms':>10} {'DY-ReLU-C ms':>13} {'ratio':>6}")
    for backbone in args.backbones:
        for name, step, static, dynamic in bench_backbone(backbone, args):
            print(
                f"{name:<18} {step:<10} {1e3 * static:10.1f} {1e3 * dynamic:13.1f} "
                f"{dynamic / static:6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
