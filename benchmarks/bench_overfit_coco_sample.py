"""Can the whole pipeline fit real COCO persons? Train and test on the coco_sample slice.

    python benchmarks/bench_overfit_coco_sample.py [--root ../shared/data/coco_sample]
                                                   [--out /tmp/dypose_overfit] [KEY VALUE ...]

Trains MobileNetV2 x0.5 with DY-ReLU-C in backbone and head (128x96 input, 32x24
heatmaps, head channels 64/32/16: the demo's network) on the 12 labelled persons of
the four real val2017 images (TRAIN_SET val2017, ground-truth boxes, augmentation and
flip test off), then evaluates on the same persons, and prints the AP curve and the wall
time. A check of the real-data path (reading, cropping, targets, decoding, COCOeval),
not of generalisation: the issue's bar is AP >= 0.8 within 20 minutes on the CPU.
"""

import argparse
import json
import os
import time
from pathlib import Path

from dypose.config import get_config
from dypose.engine import setup_logging, train

DEFAULT_ROOT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "coco_sample"

RECIPE = [
    "MODEL.IMAGE_SIZE", "[96, 128]",
    "MODEL.HEATMAP_SIZE", "[24, 32]",
    "MODEL.SIGMA", "1.5",
    "MODEL.BACKBONE.WIDTH", "0.5",
    "MODEL.BACKBONE.ACTIVATION.KIND", "dyrelu_c",
    "MODEL.HEAD.ACTIVATION.KIND", "dyrelu_c",
    "MODEL.HEAD.CHANNELS", "[64, 32, 16]",
    "DATASET.TRAIN_SET", "val2017",
    "DATASET.TEST_SET", "val2017",
    "DATASET.FLIP", "False",
    "DATASET.SCALE_FACTOR", "0.0",
    "DATASET.ROT_FACTOR", "0.0",
    "DATASET.PROB_HALF_BODY", "0.0",
    "TEST.FLIP_TEST", "False",
    "TEST.USE_GT_BBOX", "True",
    # 12 persons: one batch is one epoch, so "epochs" below are iterations.
    "TRAIN.BATCH_SIZE_PER_GPU", "12",
    "TRAIN.LR", "0.002",
    "TRAIN.END_EPOCH", "400",
    "TRAIN.LR_STEP", "[300]",
    "TRAIN.EVAL_INTERVAL", "50",
    "WORKERS", "0",
    "PRINT_FREQ", "1000",
    "AUTO_RESUME", "False",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(DEFAULT_ROOT), help="coco_sample folder")
    parser.add_argument("--out", default="/tmp/dypose_overfit", help="output folder")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides")
    args = parser.parse_args()
    if not os.path.isfile(os.path.join(args.root, "annotations", "person_keypoints_val2017.json")):
        raise SystemExit(f"no COCO sample at {args.root}; pass --root")

    opts = RECIPE + ["DATASET.ROOT", args.root, "OUTPUT_DIR", args.out, "LOG_DIR", args.out]
    cfg = get_config(None, opts + list(args.opts))
    setup_logging()
    start = time.perf_counter()
    result = train(cfg, "coco_sample_overfit.yaml")
    minutes = (time.perf_counter() - start) / 60

    with open(os.path.join(result.output_dir, "metrics.jsonl"), encoding="utf-8") as f:
        evals = [r for r in map(json.loads, f) if r.get("type") == "val"]
    print(f"\ncoco_sample overfit: {len(evals)} evaluations, {minutes:.1f} min wall")
    for record in evals:
        print(f"  after {record['epoch'] + 1:4d} iterations: AP {record['AP']:.3f}")
    print(f"final AP {evals[-1]['AP']:.3f} (bar: >= 0.8 within 20 min)")


if __name__ == "__main__":
    main()
