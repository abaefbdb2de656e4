"""What DY-ReLU learned (paper section 5.2, Fig. 3): input/output plots, slope
differences per block, the shares of non-ReLU-like DY-ReLUs and spatial attention.

    python tools/inspect_dyrelu.py --cfg FILE --checkpoint CKPT --images PATH... \
        --out DIR [--boxes gt|det|whole] [--layers NAME ...] [KEY VALUE ...]

Crops come from the person boxes (as in tools/visualize.py) or the whole image.
Default layers: the DY-ReLU after the depthwise conv in every other block.
"""

import argparse
import logging

from dypose.apis import collect_images, crop_batches, load_model
from dypose.config import get_config
from dypose.engine import setup_logging
from dypose.utils.cli import exit_with
from dypose.visualization.dyrelu_inspect import POINTS_PER_IMAGE, inspect_dyrelu

logger = logging.getLogger("dypose.tools.inspect_dyrelu")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Inspect the DY-ReLUs of a trained model")
    parser.add_argument("--cfg", required=True, help="experiment yaml file")
    parser.add_argument("--checkpoint", default="", help="model weights (default TEST.MODEL_FILE)")
    parser.add_argument("--images", nargs="+", required=True, help="image files or folders")
    parser.add_argument(
        "--boxes",
        choices=("gt", "det", "whole"),
        default="gt",
        help="person crops from gt / det boxes or the whole image (default gt)",
    )
    parser.add_argument(
        "--layers",
        nargs="*",
        default=None,
        help="DY-ReLU module names to plot (default: every other block's depthwise DY-ReLU)",
    )
    parser.add_argument(
        "--points",
        type=int,
        default=POINTS_PER_IMAGE,
        help="input/output pairs sampled per crop and layer",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        # Eager model: forward hooks and `record` need the eager modules.
        cfg = get_config(args.cfg, list(args.opts) + ["MODEL.COMPILE", "False"])
        model = load_model(cfg, args.checkpoint)
        device = next(model.parameters()).device
        batches = crop_batches(cfg, collect_images(args.images), args.boxes, device)
        stats, written = inspect_dyrelu(model, batches, args.out, args.layers, args.points)
    except (ValueError, FileNotFoundError) as err:
        logger.error("%s", err)
        return 2
    print(f"crops: {stats['images']}, DY-ReLU units (K=2, per channel per crop): {stats['units']}")
    print(
        f"with a segment of slope < 0 or > 1: {100 * stats['slope_outside_0_1']:.1f}% "
        "(paper, ImageNet: 51%)"
    )
    margin = stats["slope_margin"]
    print(
        f"  ... with slope < -{margin} or > {1 + margin}: "
        f"{100 * stats['slope_outside_with_margin']:.1f}%"
    )
    print(
        f"with an intercept > {stats['intercept_threshold']}: "
        f"{100 * stats['intercept_above']:.1f}% (paper, ImageNet: 37%)"
    )
    print("wrote: " + ", ".join(written))
    return 0


if __name__ == "__main__":
    exit_with(main)
