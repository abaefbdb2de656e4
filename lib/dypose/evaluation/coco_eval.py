"""COCO keypoint evaluation: checks, COCOeval ('keypoints') and the two entry points.

`evaluate_predictions` takes `predict` output through rescoring, OKS-NMS and a results
file to the ten COCO statistics; `evaluate_results_file` evaluates an existing file.
pycocotools stays the reference; faster-coco-eval is an optional, identical backend.
"""

import contextlib
import copy
import io
import logging
import os
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from dypose.evaluation.report import STAT_NAMES, format_stats_table
from dypose.evaluation.results import (
    build_results,
    normalize_result,
    pose_areas,
    read_results,
    results_arrays,
    select_poses,
    write_results,
)
from dypose.evaluation.results import rescore as rescore_scores
from dypose.utils.io import read_json

logger = logging.getLogger(__name__)

BACKENDS = ("pycocotools", "faster_coco_eval")
# How many unknown image ids an error message lists before "...".
MAX_IDS_SHOWN = 10
NO_ANNOTATIONS_MESSAGE = "%s has no annotations (an image-info file): evaluation skipped"


class EvaluationError(ValueError):
    """Results or ground truth that COCO evaluation cannot use."""


def load_annotations(annotation_file: str) -> Dict[str, Any]:
    """Reads a COCO annotation (or image-info) json, naming the file on failure."""
    dataset = read_json(annotation_file, "annotation file", EvaluationError)
    if not isinstance(dataset, dict) or "images" not in dataset:
        raise EvaluationError(f"{annotation_file}: a COCO json needs an 'images' list")
    return dataset


def _quietly(function, *args, **kwargs):
    """Runs a pycocotools call, sending what it prints to the debug log."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        value = function(*args, **kwargs)
    if buffer.getvalue().strip():
        logger.debug("%s", buffer.getvalue().rstrip())
    return value


def _gt_num_keypoints(dataset: Dict[str, Any]) -> Optional[int]:
    """Keypoints per person in the ground truth (annotations first, then categories)."""
    for ann in dataset.get("annotations", []):
        if "keypoints" in ann:
            return len(ann["keypoints"]) // 3
    for category in dataset.get("categories", []):
        if category.get("keypoints"):
            return len(category["keypoints"])
    return None


def check_inputs(
    results: Sequence[Dict[str, Any]],
    dataset: Dict[str, Any],
    sigmas: np.ndarray,
    source: str,
    annotation_file: str,
) -> None:
    """Raises EvaluationError before COCOeval when results and ground truth disagree.

    Checks that the OKS sigmas match the ground truth's keypoint count, that every
    result has 3 x that many keypoint numbers, and that every result's image_id is
    an image of the ground truth (pycocotools would only assert).
    """
    num_sigmas = len(sigmas)
    gt_keypoints = _gt_num_keypoints(dataset)
    if gt_keypoints is not None and gt_keypoints != num_sigmas:
        raise EvaluationError(
            f"{annotation_file}: {gt_keypoints} keypoints per person but {num_sigmas} OKS "
            "sigmas; set DATASET.OKS_SIGMAS to one sigma per keypoint"
        )
    for position, result in enumerate(results):
        if len(result["keypoints"]) != 3 * num_sigmas:
            raise EvaluationError(
                f"{source}: result {position} (image_id {result['image_id']}) has "
                f"{len(result['keypoints'])} keypoint numbers; expected 3 x {num_sigmas}"
            )
    known = {image["id"] for image in dataset["images"]}
    unknown = sorted({r["image_id"] for r in results} - known)
    if unknown:
        shown = ", ".join(str(i) for i in unknown[:MAX_IDS_SHOWN])
        more = " ..." if len(unknown) > MAX_IDS_SHOWN else ""
        raise EvaluationError(
            f"{source}: {len(unknown)} image_id(s) not in the ground truth "
            f"{annotation_file}: {shown}{more}; evaluate against the annotation file "
            "of the image set that was predicted"
        )


def _import_faster_coco_eval():
    try:
        import faster_coco_eval
    except ImportError as err:
        raise EvaluationError(
            "TEST.COCOEVAL_BACKEND is 'faster_coco_eval' but the package is not installed: "
            "pip install faster-coco-eval, or use 'pycocotools'"
        ) from err
    return faster_coco_eval


def _ground_truth(dataset: Dict[str, Any], backend: str):
    if backend == "faster_coco_eval":
        FasterCOCO = _import_faster_coco_eval().COCO  # noqa: N806 - a class

        return FasterCOCO(dataset, print_function=logger.debug)
    # The dict is this call's own (freshly loaded), so COCO may index it in place.
    coco_gt = COCO()
    coco_gt.dataset = dataset
    _quietly(coco_gt.createIndex)
    return coco_gt


def _detections(coco_gt, results: List[Dict[str, Any]]):
    if results:
        # loadRes adds area, bbox and id to each result: give it shallow copies.
        return _quietly(coco_gt.loadRes, [dict(r) for r in results])
    # pycocotools' loadRes fails on an empty list; an empty results object with the
    # ground truth's images lets COCOeval compute its own "no detections" figures.
    coco_dt = type(coco_gt)()
    coco_dt.dataset = {
        "images": list(coco_gt.dataset["images"]),
        "categories": copy.deepcopy(coco_gt.dataset.get("categories", [])),
        "annotations": [],
    }
    _quietly(coco_dt.createIndex)
    return coco_dt


def run_cocoeval(
    dataset: Dict[str, Any],
    results: List[Dict[str, Any]],
    sigmas: Sequence[float],
    backend: str = "pycocotools",
) -> "OrderedDict[str, float]":
    """COCOeval ('keypoints') of plain, checked results against a ground-truth dict.

    Args:
        dataset: the annotation json as loaded (see `load_annotations`).
        results: plain COCO keypoint results (see `check_inputs`).
        sigmas: (K,) OKS sigmas (COCOeval's kpt_oks_sigmas).
        backend: "pycocotools" or "faster_coco_eval" (TEST.COCOEVAL_BACKEND).

    Returns:
        OrderedDict of the ten statistics (STAT_NAMES) as floats; -1 marks a statistic
        without ground truth.
    """
    if backend not in BACKENDS:
        raise EvaluationError(f"unknown COCOeval backend '{backend}'; choose one of {BACKENDS}")
    if not results:
        logger.warning("no keypoint predictions to evaluate: every statistic is 0 (or -1)")
    coco_gt = _ground_truth(dataset, backend)
    coco_dt = _detections(coco_gt, results)
    sigmas = np.asarray(sigmas, dtype=np.float64)
    if backend == "faster_coco_eval":
        evaluator = _import_faster_coco_eval().COCOeval_faster(
            coco_gt, coco_dt, "keypoints", print_function=logger.debug, kpt_oks_sigmas=sigmas
        )
    else:
        evaluator = COCOeval(coco_gt, coco_dt, "keypoints")
        evaluator.params.kpt_oks_sigmas = sigmas
    _quietly(evaluator.evaluate)
    _quietly(evaluator.accumulate)
    _quietly(evaluator.summarize)
    return OrderedDict((name, float(v)) for name, v in zip(STAT_NAMES, evaluator.stats))


def _pose_selection(
    keypoints, box_scores, image_ids, areas, sigmas, do_rescore, nms, soft_nms, oks_thre, vis_thre
) -> Tuple[np.ndarray, np.ndarray]:
    """Rescoring then per-image OKS-NMS; returns kept indices and their scores."""
    scores = np.asarray(box_scores, dtype=np.float64)
    if do_rescore:
        scores = rescore_scores(keypoints[..., 2], scores, vis_thre)
    if not nms:
        return np.arange(len(scores)), scores
    # HRNet's OKS-NMS counts every keypoint (its call passes no visibility threshold).
    return select_poses(image_ids, keypoints, scores, areas, sigmas, oks_thre, soft=soft_nms)


def _check_finite(keypoints: np.ndarray, box_scores) -> None:
    bad = ~np.isfinite(keypoints).all(axis=(1, 2)) | ~np.isfinite(np.asarray(box_scores))
    if bad.any():
        raise EvaluationError(
            f"{int(bad.sum())} of {len(bad)} predictions hold NaN or infinite keypoints or "
            f"scores (first at row {int(np.flatnonzero(bad)[0])}); the network output is "
            "not finite: check the checkpoint and the input normalisation"
        )


def _box_score(result: Dict[str, Any]) -> float:
    return result.get("box_score", result["score"])


def _log_stats(stats: "OrderedDict[str, float]") -> None:
    logger.info("COCO keypoint evaluation:\n%s", format_stats_table(stats))


def evaluate_predictions(
    preds: Dict[str, np.ndarray],
    cfg,
    annotation_file: str,
    output_dir: str,
    keypoint_info,
) -> Tuple[Optional["OrderedDict[str, float]"], str]:
    """Rescoring, OKS-NMS, the results json and COCOeval for `predict` output.

    Follows the config: TEST.RESCORE / IN_VIS_THRE, TEST.NMS / SOFT_NMS / OKS_THRE,
    TEST.COCOEVAL_BACKEND. The results go to
    `output_dir/keypoints_<DATASET.TEST_SET>_results.json` (written atomically).

    Args:
        preds: dict of `predict`: keypoints (N, K, 3) image frame, centers (N, 2),
            scales (N, 2), scores (N,) box scores, image_ids (N,).
        cfg: the experiment config.
        annotation_file: COCO json of the evaluated image set.
        output_dir: folder for the results file.
        keypoint_info: `dypose.data.keypoints.KeypointInfo` (its oks_sigmas are used).

    Returns:
        the ten statistics (None when the json has no annotations, e.g. test-dev's
        image-info file) and the results file path.
    """
    sigmas = np.asarray(keypoint_info.oks_sigmas, dtype=np.float64)
    keypoints = np.asarray(preds["keypoints"], dtype=np.float64)
    if keypoints.size and keypoints.shape[1] != len(sigmas):
        raise EvaluationError(
            f"predictions have {keypoints.shape[1]} keypoints but {len(sigmas)} OKS sigmas; "
            "set DATASET.OKS_SIGMAS to one sigma per keypoint"
        )
    _check_finite(keypoints, preds["scores"])
    test = cfg.TEST
    indices, scores = _pose_selection(
        keypoints, preds["scores"], np.asarray(preds["image_ids"]), pose_areas(preds["scales"]),
        sigmas, test.RESCORE, test.NMS, test.SOFT_NMS, test.OKS_THRE, test.IN_VIS_THRE,
    )  # fmt: skip
    results = build_results(preds, indices, scores)
    name = f"keypoints_{cfg.DATASET.TEST_SET}_results.json"
    results_path = os.path.join(output_dir, name)

    dataset = load_annotations(annotation_file)
    check_inputs(results, dataset, sigmas, "predictions", annotation_file)
    write_results(results, results_path, normalize=False)
    logger.info("wrote %d keypoint results to %s", len(results), results_path)
    if "annotations" not in dataset:
        logger.info(NO_ANNOTATIONS_MESSAGE, annotation_file)
        return None, results_path
    stats = run_cocoeval(dataset, results, sigmas, test.COCOEVAL_BACKEND)
    _log_stats(stats)
    return stats, results_path


def evaluate_results_file(
    results_path: str,
    annotation_file: str,
    keypoint_info,
    rescore: bool = False,
    nms: bool = False,
    soft_nms: bool = False,
    oks_thre: float = 0.9,
    in_vis_thre: float = 0.2,
    backend: str = "pycocotools",
    output_path: Optional[str] = None,
) -> Optional["OrderedDict[str, float]"]:
    """Evaluates an existing COCO keypoint results file (tools/test.py --results).

    With `rescore`, each result's score becomes its "box_score" (or, absent, its
    "score") x the mean of its keypoint scores above `in_vis_thre`; with `nms`, OKS-NMS
    runs per image at `oks_thre`. Nothing is rewritten unless `output_path` is given.

    Args:
        results_path: COCO results json (list of image_id, keypoints, score, ...).
        annotation_file: COCO json of the ground truth.
        keypoint_info: `KeypointInfo`; its oks_sigmas are COCOeval's.
        rescore, nms, soft_nms, oks_thre, in_vis_thre: as TEST.RESCORE, TEST.NMS,
            TEST.SOFT_NMS, TEST.OKS_THRE, TEST.IN_VIS_THRE.
        backend: "pycocotools" or "faster_coco_eval".
        output_path: where to write the processed results (optional).

    Returns:
        the ten statistics, or None when the json has no annotations.
    """
    sigmas = np.asarray(keypoint_info.oks_sigmas, dtype=np.float64)
    raw = read_results(results_path)
    results = [normalize_result(r, i, results_path) for i, r in enumerate(raw)]
    dataset = load_annotations(annotation_file)
    check_inputs(results, dataset, sigmas, results_path, annotation_file)
    if results and (rescore or nms):
        arrays = results_arrays(results, len(sigmas))
        indices, scores = _pose_selection(
            arrays["keypoints"], arrays["scores"], arrays["image_ids"], arrays["areas"],
            sigmas, rescore, nms, soft_nms, oks_thre, in_vis_thre,
        )  # fmt: skip
        # The score before rescoring is kept as box_score, so rescoring twice is stable.
        results = [
            {**results[i], "score": float(s), "box_score": _box_score(results[i])}
            for i, s in zip(indices.tolist(), scores)
        ]
    if output_path:
        write_results(results, output_path, normalize=False)
    if "annotations" not in dataset:
        logger.info(NO_ANNOTATIONS_MESSAGE, annotation_file)
        return None
    stats = run_cocoeval(dataset, results, sigmas, backend)
    _log_stats(stats)
    return stats
