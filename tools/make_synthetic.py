"""Writes DyPose's synthetic COCO-format person-keypoint dataset (the demo's data).

python tools/make_synthetic.py --out data/synthetic [--num-train 1000] [--num-val 200]
    [--seed 0] [--preview docs/synthetic_preview.jpg] [--check]
"""

import argparse
import logging
import time

from dypose.data.image_io import check_images, describe_bad_images
from dypose.data.synthetic import TRAIN_SET, VAL_SET, generate_synthetic, preview_grid
from dypose.utils.cli import exit_with


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/synthetic", help="dataset root (DATASET.ROOT)")
    parser.add_argument("--num-train", type=int, default=1000, help="training images")
    parser.add_argument("--num-val", type=int, default=200, help="validation images")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same seed, same files)")
    parser.add_argument("--preview", default="", help="also write a grid of annotated samples here")
    parser.add_argument("--check", action="store_true", help="decode every written image after")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    start = time.perf_counter()
    paths = generate_synthetic(args.out, args.num_train, args.num_val, args.seed)
    logging.info(
        "%d + %d images in %.1f s under %s",
        args.num_train, args.num_val, time.perf_counter() - start, args.out,
    )  # fmt: skip
    if args.preview:
        preview_grid(args.seed, path=args.preview)
        logging.info("preview written to %s", args.preview)
    if args.check:
        from dypose.config import get_config
        from dypose.data.coco import load_records

        cfg = get_config(opts=["DATASET.ROOT", args.out])
        for image_set in (TRAIN_SET, VAL_SET):
            bad = check_images(load_records(cfg, image_set))
            if bad:
                logging.error(describe_bad_images(bad))
                return 1
        logging.info("all images of %s decode at their json sizes", ", ".join(paths))
    return 0


if __name__ == "__main__":
    exit_with(main)
