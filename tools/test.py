"""Evaluate a keypoint model on COCO-format data.

    python tools/test.py --cfg FILE TEST.MODEL_FILE CKPT [KEY VALUE ...]
    python tools/test.py --cfg FILE --results RESULTS.json [--rescore] [--nms]
    python tools/test.py --cfg FILE --check      (lists every unreadable image, no model)

With torchrun each rank predicts its share and rank 0 runs COCOeval.
"""

import argparse
import logging
import os

from dypose.config import get_config
from dypose.engine import get_output_dir, setup_logging
from dypose.engine.logger import timestamped_log_file
from dypose.utils.cli import exit_with

logger = logging.getLogger("dypose.tools.test")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Evaluate a DyPose keypoint model")
    parser.add_argument("--cfg", required=True, help="experiment yaml file")
    parser.add_argument(
        "--results", default="", help="evaluate this COCO results json instead of a model"
    )
    parser.add_argument(
        "--rescore", action="store_true", help="with --results: rescore persons first"
    )
    parser.add_argument("--nms", action="store_true", help="with --results: OKS-NMS first")
    parser.add_argument(
        "--ann", default="", help="with --results: annotation json (default: the TEST_SET's)"
    )
    parser.add_argument(
        "--check", action="store_true", help="decode every image of the test set and list bad ones"
    )
    parser.add_argument("opts", nargs=argparse.REMAINDER, help="config overrides: KEY VALUE ...")
    return parser.parse_args(argv)


def check(cfg) -> int:
    """Preflight of the test set's images; 0 when all decode, 1 otherwise."""
    from dypose.data.coco import load_records
    from dypose.data.image_io import check_images, describe_bad_images

    records = load_records(cfg, cfg.DATASET.TEST_SET, use_gt_boxes=cfg.TEST.USE_GT_BBOX)
    bad = check_images(records)
    if bad:
        logger.error("%s", describe_bad_images(bad))
        return 1
    logger.info("all images of %s decode", cfg.DATASET.TEST_SET)
    return 0


def evaluate_file(cfg, args) -> int:
    """COCOeval of an existing results json (no model)."""
    from dypose import evaluation
    from dypose.data.coco import annotation_file
    from dypose.data.keypoints import get_keypoint_info

    ann = args.ann or annotation_file(cfg.DATASET.ROOT, cfg.DATASET.TEST_SET)
    stats = evaluation.evaluate_results_file(
        args.results,
        ann,
        get_keypoint_info(cfg),
        rescore=args.rescore,
        nms=args.nms,
        in_vis_thre=cfg.TEST.IN_VIS_THRE,
        oks_thre=cfg.TEST.OKS_THRE,
        soft_nms=cfg.TEST.SOFT_NMS,
        backend=cfg.TEST.COCOEVAL_BACKEND,
    )
    if stats:
        print(evaluation.format_stats_table(stats))
    return 0


def evaluate_model(cfg, cfg_path: str, output_dir: str) -> int:
    """Builds the model, loads TEST.MODEL_FILE strictly and evaluates it."""
    from dypose.data import build_dataset
    from dypose.engine import load_model_weights, run_evaluation
    from dypose.engine.distributed import cleanup_distributed, init_distributed
    from dypose.evaluation import format_stats_table
    from dypose.models import build_model

    if not cfg.TEST.MODEL_FILE:
        raise SystemExit("give the checkpoint to evaluate: TEST.MODEL_FILE path/to/model.pth")
    ctx = init_distributed(cfg.DEVICE)
    try:
        model = build_model(cfg)
        load_model_weights(model, cfg.TEST.MODEL_FILE)
        model.to(ctx.device)
        dataset = build_dataset(cfg, "val")
        stats = run_evaluation(cfg, model, dataset, output_dir, ctx.device, ctx.distributed)
    finally:
        cleanup_distributed()
    if stats:
        print(format_stats_table(stats))
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    cfg = get_config(args.cfg, args.opts)
    rank = int(os.environ.get("RANK", "0"))
    output_dir = get_output_dir(cfg, args.cfg)
    setup_logging(timestamped_log_file(output_dir, "test"), rank)
    if args.check:
        return check(cfg)
    if args.results:
        return evaluate_file(cfg, args)
    return evaluate_model(cfg, args.cfg, output_dir)


if __name__ == "__main__":
    exit_with(main)
