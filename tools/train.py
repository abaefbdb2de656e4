"""Train a keypoint model: python tools/train.py --cfg FILE [KEY VALUE ...]

Several processes: torchrun --nproc_per_node N tools/train.py --cfg FILE ...
Exit status: 0 when done (or nothing left to train), 130 after Ctrl-C (SIGINT).
"""

import argparse
import os

from dypose.config import get_config
from dypose.engine import get_output_dir, setup_logging, train
from dypose.engine.logger import timestamped_log_file
from dypose.utils.cli import exit_with

# The shell's convention for a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Train a DyPose keypoint model")
    parser.add_argument("--cfg", required=True, help="experiment yaml file")
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = get_config(args.cfg, args.opts)
    rank = int(os.environ.get("RANK", "0"))
    output_dir = get_output_dir(cfg, args.cfg)
    setup_logging(timestamped_log_file(output_dir, "train"), rank)
    result = train(cfg, args.cfg)
    return EXIT_INTERRUPTED if result.interrupted else 0


if __name__ == "__main__":
    exit_with(main)
