"""The whole loop on a CPU in minutes: synthetic data, training, COCO evaluation, drawings.

    python tools/demo.py [--cfg experiments/synthetic/...yaml] [--data data/synthetic]
                         [--num-train N] [--num-val N] [--draw N] [KEY VALUE ...]

1. writes DyPose's synthetic COCO-format dataset into --data (kept when complete);
2. trains the experiment (MobileNetV2 x0.5 with DY-ReLU-C in backbone and head);
3. evaluates it on val_synth with the simulated detector boxes and flip test and prints
   the COCO AP table;
4. draws the predictions on a few validation images into <output>/demo_images/.
Run it again to reuse the data and the finished training (AUTO_RESUME).
"""

import argparse
import glob
import json
import logging
import os
import time

from dypose.config import get_config
from dypose.engine import get_output_dir, setup_logging, train
from dypose.engine.logger import timestamped_log_file
from dypose.utils.cli import exit_with

logger = logging.getLogger("dypose.tools.demo")

# Found beside this script, so the demo runs from any folder (data and output: cwd).
DEFAULT_CFG = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "experiments", "synthetic", "mobilenetv2_x0.5_dyrelu_c_128x96.yaml",
)  # fmt: skip
# Dataset size of the demo: about 2.5 persons per image.
NUM_TRAIN, NUM_VAL = 500, 100
# Persons drawn must score at least this (drops most false-positive boxes).
DRAW_MIN_SCORE = 0.2
SETS = ("train_synth", "val_synth")
DETECTIONS = os.path.join("person_detection_results", "val_synth_detections.json")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cfg", default=DEFAULT_CFG, help="experiment yaml file")
    parser.add_argument("--data", default="data/synthetic", help="synthetic dataset root")
    parser.add_argument("--num-train", type=int, default=NUM_TRAIN, help="training images")
    parser.add_argument("--num-val", type=int, default=NUM_VAL, help="validation images")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic images")
    parser.add_argument("--draw", type=int, default=4, help="validation images to draw")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return parser.parse_args(argv)


def dataset_complete(root: str, counts: dict) -> bool:
    """True when both image sets have their json, the expected image count and every file."""
    if not os.path.isfile(os.path.join(root, DETECTIONS)):
        return False
    for image_set in SETS:
        path = os.path.join(root, "annotations", f"person_keypoints_{image_set}.json")
        try:
            with open(path, encoding="utf-8") as f:
                images = json.load(f)["images"]
        except (OSError, ValueError, KeyError):
            return False
        if len(images) != counts[image_set]:
            return False
        folder = os.path.join(root, "images", image_set)
        for image in images:
            file = os.path.join(folder, image["file_name"])
            if not (os.path.isfile(file) and os.path.getsize(file) > 0):
                return False
    return True


def prepare_data(args) -> None:
    from dypose.data.synthetic import generate_synthetic

    counts = {"train_synth": args.num_train, "val_synth": args.num_val}
    if dataset_complete(args.data, counts):
        logger.info("synthetic dataset found complete in %s; not regenerated", args.data)
        return
    start = time.perf_counter()
    generate_synthetic(args.data, args.num_train, args.num_val, args.seed)
    logger.info("synthetic dataset written in %.0f s", time.perf_counter() - start)


def final_stats(cfg, cfg_path: str, result, output_dir: str):
    """The statistics of the last validation; evaluates final_state.pth when none ran now."""
    if result.last_stats:
        return result.last_stats
    from dypose.data import build_dataset
    from dypose.engine import load_model_weights, run_evaluation
    from dypose.engine.distributed import select_device
    from dypose.models import build_model

    device = select_device(cfg.DEVICE)
    model = build_model(cfg)
    load_model_weights(model, os.path.join(output_dir, "final_state.pth"))
    model.to(device)
    return run_evaluation(cfg, model, build_dataset(cfg, "val"), output_dir, device)


def draw_predictions(cfg, output_dir: str, count: int) -> None:
    """Draws the evaluation's results file on the first `count` validation images."""
    results = os.path.join(output_dir, f"keypoints_{cfg.DATASET.TEST_SET}_results.json")
    images = sorted(glob.glob(os.path.join(cfg.DATASET.ROOT, "images", cfg.DATASET.TEST_SET, "*")))
    try:
        from dypose.apis.visualize import draw_results_file
    except ImportError:
        print("Drawing skipped: dypose.apis.visualize is not available in this install.")
        return
    out_dir = os.path.join(output_dir, "demo_images")
    written = draw_results_file(cfg, results, images[:count], out_dir, min_score=DRAW_MIN_SCORE)
    print(f"Predictions drawn on {len(written)} validation images in {out_dir}/")


def main(argv=None) -> int:
    start = time.perf_counter()
    args = parse_args(argv)
    opts = ["DATASET.ROOT", args.data, "TEST.COCO_BBOX_FILE", os.path.join(args.data, DETECTIONS)]
    cfg = get_config(args.cfg, opts + list(args.opts))
    output_dir = get_output_dir(cfg, args.cfg)
    setup_logging(timestamped_log_file(output_dir, "demo"))

    prepare_data(args)
    result = train(cfg, args.cfg)
    if result.interrupted:
        return 130
    stats = final_stats(cfg, args.cfg, result, output_dir)

    from dypose.evaluation import format_stats_table

    minutes = (time.perf_counter() - start) / 60
    print(f"\nDyPose demo: {os.path.basename(args.cfg)} on {cfg.DATASET.TEST_SET} "
          f"(detector boxes, flip test), {minutes:.1f} min")  # fmt: skip
    print(format_stats_table(stats))
    draw_predictions(cfg, output_dir, args.draw)
    print(f"Checkpoints, metrics.jsonl and the results json: {output_dir}/")
    return 0


if __name__ == "__main__":
    exit_with(main)
