"""Plot a run's training curves (loss, accuracy, AP, learning rate) as PNG files.

python tools/plot_log.py RUN_DIR_or_metrics.jsonl --out DIR
"""

import argparse
import logging
import os

from dypose.engine import setup_logging
from dypose.utils.cli import exit_with
from dypose.visualization.plots import plot_training_curves

logger = logging.getLogger("dypose.tools.plot_log")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Plot training curves from metrics.jsonl")
    parser.add_argument("metrics", help="a run's output folder or its metrics.jsonl")
    parser.add_argument("--out", default=None, help="output folder (default: <run>/plots)")
    args = parser.parse_args(argv)
    setup_logging()

    run_dir = args.metrics
    if not os.path.isdir(run_dir):
        run_dir = os.path.dirname(os.path.abspath(run_dir))
    out = args.out or os.path.join(run_dir, "plots")
    try:
        plot_training_curves(args.metrics, out)
    except ValueError as err:
        logger.error("%s", err)
        return 2
    return 0


if __name__ == "__main__":
    exit_with(main)
