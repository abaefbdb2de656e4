"""Image-level pipelines behind tools/visualize.py and tools/inspect_dyrelu.py.

Person boxes come from the dataset's ground truth (DATASET.ROOT / TEST_SET), from the
detection json (TEST.COCO_BBOX_FILE, score >= TEST.IMAGE_THRE), or the whole image;
input files are matched to the annotation json by file name.
"""

import logging
import os
from collections import defaultdict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from dypose.apis.inference import crop_persons, estimate_poses
from dypose.data.coco import annotation_file, load_coco_json, load_records
from dypose.data.image_io import read_image
from dypose.data.keypoints import get_keypoint_info
from dypose.evaluation import read_results
from dypose.visualization.draw import draw_keypoints, write_image

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
BOX_SOURCES = ("gt", "det", "whole")
# Crops per forward pass when recording DY-ReLUs.
INSPECT_BATCH = 16

Boxes = Dict[str, Tuple[np.ndarray, np.ndarray]]


def collect_images(paths: Sequence[str]) -> List[str]:
    """Image files from files and folders (a folder's images, sorted, not recursive).

    Raises:
        ValueError: a path that does not exist, or no image at all.
    """
    images = []
    for path in paths:
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS))
            images.extend(os.path.join(path, n) for n in names)
        elif os.path.isfile(path):
            images.append(path)
        else:
            raise ValueError(f"--images: {path} is neither an image file nor a folder")
    if not images:
        raise ValueError(f"--images: no image files ({', '.join(IMAGE_EXTENSIONS)}) in {paths}")
    return images


def person_boxes(cfg, image_paths: Sequence[str], source: str) -> Boxes:
    """Boxes per image path: {path: (boxes (M, 4) x, y, w, h, scores (M,))}.

    Args:
        cfg: config (DATASET.ROOT, DATASET.TEST_SET; TEST.COCO_BBOX_FILE and
            TEST.IMAGE_THRE for "det").
        image_paths: the input images; matched to the annotation json by file name.
        source: "gt", "det" or "whole". Images without a matching entry (and every
            image with "whole") are absent from the result: callers use the whole image.
    """
    if source not in BOX_SOURCES:
        raise ValueError(f"box source {source!r}; choose one of {', '.join(BOX_SOURCES)}")
    if source == "whole":
        return {}
    if source == "det" and not cfg.TEST.COCO_BBOX_FILE:
        raise ValueError("detector boxes need TEST.COCO_BBOX_FILE (a COCO detection json)")
    records = load_records(cfg, cfg.DATASET.TEST_SET, use_gt_boxes=source == "gt")
    by_name = defaultdict(list)
    for record in records:
        by_name[os.path.basename(record["image_path"])].append(record)
    boxes = {}
    for path in image_paths:
        found = by_name.get(os.path.basename(path), [])
        if not found:
            logger.warning("%s: no %s boxes for it; using the whole image", path, source)
            continue
        boxes[path] = (
            np.stack([np.asarray(r["box"], np.float32) for r in found]),
            np.asarray([r["score"] for r in found], np.float32),
        )
    return boxes


def _boxes_or_whole(boxes: Boxes, path: str, image: np.ndarray):
    if path in boxes:
        return boxes[path]
    height, width = image.shape[:2]
    return np.array([[0.0, 0.0, width, height]], np.float32), np.ones(1, np.float32)


def _output_path(out_dir: str, image_path: str, used: set) -> str:
    stem = os.path.splitext(os.path.basename(image_path))[0]
    name, suffix = stem, 1
    while name in used:  # two inputs with one file name from different folders
        name, suffix = f"{stem}_{suffix}", suffix + 1
    used.add(name)
    return os.path.join(out_dir, name + ".jpg")


def visualize_images(
    cfg,
    model: nn.Module,
    image_paths: Sequence[str],
    out_dir: str,
    box_source: str = "gt",
    threshold: float = 0.3,
) -> List[str]:
    """Estimates and draws the poses of every boxed person; one output image per input.

    Returns:
        The paths written (out_dir/<input name>.jpg).
    """
    info = get_keypoint_info(cfg)
    boxes = person_boxes(cfg, image_paths, box_source)
    written, used = [], set()
    for path in image_paths:
        image = read_image(path)
        person, box_scores = _boxes_or_whole(boxes, path, image)
        keypoints, scores = estimate_poses(model, cfg, image, person)
        # The whole-image box is not worth drawing: it is the image border.
        shown = (person, box_scores) if path in boxes else (None, None)
        drawn = draw_keypoints(
            image, keypoints, scores, skeleton=info.skeleton, sides=info.sides,
            threshold=threshold, boxes=shown[0], box_scores=shown[1],
        )  # fmt: skip
        out = _output_path(out_dir, path, used)
        write_image(out, drawn)
        written.append(out)
        logger.info("%s: %d people -> %s", path, len(person), out)
    return written


def draw_results_file(
    cfg,
    results_path: str,
    image_paths: Sequence[str],
    out_dir: str,
    annotation_path: Optional[str] = None,
    threshold: float = 0.3,
    min_score: float = 0.0,
) -> List[str]:
    """Draws an existing COCO keypoint results file on its images (no model).

    Args:
        cfg: config (MODEL.NUM_JOINTS, keypoint set; DATASET.ROOT / TEST_SET for the
            annotation json when `annotation_path` is None).
        results_path: COCO results json (image_id, keypoints 3K, score).
        image_paths: images to draw, matched to image_id through the annotation json's
            file names.
        annotation_path: annotation json mapping image_id -> file_name.
        threshold: per-keypoint confidence (third keypoint value) drawn.
        min_score: people with a lower result score are not drawn.

    Returns:
        The paths written, one per input image.
    """
    info = get_keypoint_info(cfg)
    annotation_path = annotation_path or annotation_file(cfg.DATASET.ROOT, cfg.DATASET.TEST_SET)
    names = {
        im["id"]: os.path.basename(im["file_name"])
        for im in load_coco_json(annotation_path)["images"]
    }
    people = defaultdict(list)
    for result in read_results(results_path):
        if float(result["score"]) >= min_score and result["image_id"] in names:
            people[names[result["image_id"]]].append(result)
    written, used = [], set()
    for path in image_paths:
        found = people.get(os.path.basename(path), [])
        if not found:
            logger.warning("%s: no results in %s for this image", path, results_path)
        keypoints = np.asarray([r["keypoints"] for r in found], np.float32)
        keypoints = keypoints.reshape(len(found), info.num_keypoints, 3)
        drawn = draw_keypoints(
            read_image(path), keypoints[..., :2], keypoints[..., 2], skeleton=info.skeleton,
            sides=info.sides, threshold=threshold,
        )  # fmt: skip
        out = _output_path(out_dir, path, used)
        write_image(out, drawn)
        written.append(out)
    return written


def crop_batches(
    cfg, image_paths: Sequence[str], box_source: str, device: torch.device
) -> Iterator[torch.Tensor]:
    """Normalised person crops of the images, INSPECT_BATCH at a time, on `device`."""
    boxes = person_boxes(cfg, image_paths, box_source)
    pending = []
    for path in image_paths:
        image = read_image(path)
        person, _ = _boxes_or_whole(boxes, path, image)
        crops, _, _ = crop_persons(cfg, image, person)
        pending.extend(crops)
        while len(pending) >= INSPECT_BATCH:
            yield torch.stack(pending[:INSPECT_BATCH]).to(device)
            pending = pending[INSPECT_BATCH:]
    if pending:
        yield torch.stack(pending).to(device)
