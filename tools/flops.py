"""Prints parameters and multiply-adds of an experiment's model, or of all Table 10 models.

python tools/flops.py --cfg experiments/coco/mobilenetv2/mobilenetv2_x1.0_dyrelu_c_256x192.yaml
python tools/flops.py --paper
"""

import argparse
import os

from dypose.config import get_config
from dypose.models import build_model
from dypose.models.complexity import count_complexity, paper_table
from dypose.utils.cli import exit_with

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--cfg", help="experiment yaml file")
    group.add_argument(
        "--paper", action="store_true", help="all eight Table 10 models beside the paper's figures"
    )
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="KEY VALUE config overrides")
    args = parser.parse_args()

    if args.paper:
        print(paper_table(os.path.join(REPO_ROOT, "experiments", "coco")))
        return
    cfg = get_config(args.cfg, args.opts)
    counts = count_complexity(build_model(cfg), cfg.MODEL.IMAGE_SIZE)
    width, height = cfg.MODEL.IMAGE_SIZE
    print(f"{args.cfg} (input {height}x{width})")
    print(f"parameters:     {counts.params / 1e6:.3f} M")
    print(
        f"multiply-adds:  {counts.madds / 1e6:.1f} M "
        f"(of which DY-ReLU piecewise: {counts.dyrelu_madds / 1e6:.1f} M)"
    )


if __name__ == "__main__":
    exit_with(main)
