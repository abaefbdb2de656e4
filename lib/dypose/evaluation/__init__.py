"""Evaluation: flip test, heatmap decoding, rescoring, OKS-NMS and COCO keypoint AP."""

from dypose.evaluation.coco_eval import (
    BACKENDS,
    EvaluationError,
    check_inputs,
    evaluate_predictions,
    evaluate_results_file,
    load_annotations,
    run_cocoeval,
)
from dypose.evaluation.heatmaps import decode_heatmaps, flip_average, flip_back
from dypose.evaluation.inference import predict
from dypose.evaluation.nms import oks_iou, oks_matrix, oks_nms, soft_oks_nms
from dypose.evaluation.report import STAT_NAMES, format_stats_table
from dypose.evaluation.results import (
    build_results,
    read_results,
    rescore,
    select_poses,
    to_plain,
    write_results,
)

__all__ = [
    "BACKENDS",
    "STAT_NAMES",
    "EvaluationError",
    "build_results",
    "check_inputs",
    "decode_heatmaps",
    "evaluate_predictions",
    "evaluate_results_file",
    "flip_average",
    "flip_back",
    "format_stats_table",
    "load_annotations",
    "oks_iou",
    "oks_matrix",
    "oks_nms",
    "predict",
    "read_results",
    "rescore",
    "run_cocoeval",
    "select_poses",
    "soft_oks_nms",
    "to_plain",
    "write_results",
]
