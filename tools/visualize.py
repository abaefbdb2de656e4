"""Draw predicted (or saved) keypoints on images.

    python tools/visualize.py --cfg FILE --checkpoint CKPT --images PATH... \
        [--boxes gt|det|whole] --out DIR [KEY VALUE ...]
    python tools/visualize.py --cfg FILE --results RESULTS.json --images PATH... --out DIR

PATH may be image files or folders. Boxes: "gt" from DATASET.ROOT / TEST_SET's
annotations, "det" from TEST.COCO_BBOX_FILE (score >= TEST.IMAGE_THRE), "whole" the
whole image (also the fallback for images the json does not list). One image per input
is written to --out.
"""

import argparse
import logging

from dypose.apis import collect_images, draw_results_file, load_model, visualize_images
from dypose.config import get_config
from dypose.engine import setup_logging
from dypose.utils.cli import exit_with

logger = logging.getLogger("dypose.tools.visualize")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Draw keypoints on images")
    parser.add_argument("--cfg", default=None, help="experiment yaml file (default: defaults)")
    parser.add_argument("--checkpoint", default="", help="model weights (default TEST.MODEL_FILE)")
    parser.add_argument("--images", nargs="+", required=True, help="image files or folders")
    parser.add_argument(
        "--boxes",
        choices=("gt", "det", "whole"),
        default="gt",
        help="where person boxes come from (default: gt)",
    )
    parser.add_argument("--results", default="", help="draw this COCO results json (no model)")
    parser.add_argument(
        "--ann", default="", help="with --results: annotation json (default: the TEST_SET's)"
    )
    parser.add_argument(
        "--min-score", type=float, default=0.0, help="with --results: skip people scored below this"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=0.3,
        help="draw keypoints whose score is at least this (default 0.3)",
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging()
    try:
        # Eager model: a few images do not repay the compile time.
        cfg = get_config(args.cfg, list(args.opts) + ["MODEL.COMPILE", "False"])
        images = collect_images(args.images)
        if args.results:
            written = draw_results_file(
                cfg,
                args.results,
                images,
                args.out,
                args.ann or None,
                args.threshold,
                args.min_score,
            )
        else:
            model = load_model(cfg, args.checkpoint)
            written = visualize_images(cfg, model, images, args.out, args.boxes, args.threshold)
    except (ValueError, FileNotFoundError) as err:
        logger.error("%s", err)
        return 2
    logger.info("wrote %d image(s) to %s", len(written), args.out)
    return 0


if __name__ == "__main__":
    exit_with(main)
