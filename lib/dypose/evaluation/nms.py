"""Object keypoint similarity (OKS) and OKS-based non-maximum suppression.

OKS is COCO's keypoint similarity: mean over keypoints of exp(-d^2 / (2 s^2 k^2)) with
d the distance, s^2 the object area and k = 2 sigma. For two predictions HRNet uses
the mean of their areas as s^2; so do we, so that suppression matches HRNet's.
"""

from typing import Optional, Sequence, Tuple

import numpy as np

# Keeps the OKS exponent finite for zero-area poses (numpy's spacing(1), as HRNet).
AREA_EPS = np.spacing(1)
# HRNet's soft OKS-NMS keeps at most this many poses per image.
SOFT_NMS_MAX_DETS = 20
# Largest (rows, N, K) temporary of oks_matrix, in elements (about 32 MB of float64).
MATRIX_BLOCK_ELEMENTS = 4_000_000


def _oks_variances(sigmas: Sequence[float], num_keypoints: int) -> np.ndarray:
    sigmas = np.asarray(sigmas, dtype=np.float64).reshape(-1)
    if sigmas.size != num_keypoints:
        raise ValueError(
            f"poses have {num_keypoints} keypoints but {sigmas.size} OKS sigmas were "
            "given; set DATASET.OKS_SIGMAS to one sigma per keypoint"
        )
    return (sigmas * 2.0) ** 2


def oks_iou(
    pose: np.ndarray,
    others: np.ndarray,
    area: float,
    other_areas: np.ndarray,
    sigmas: Sequence[float],
    in_vis_thre: Optional[float] = None,
) -> np.ndarray:
    """OKS between one pose and each of several others (vectorised).

    Args:
        pose: (K, 3) x, y, score in image pixels.
        others: (M, K, 3) poses compared with `pose`.
        area: area of `pose` in pixels^2.
        other_areas: (M,) areas of `others`.
        sigmas: (K,) OKS sigmas.
        in_vis_thre: when set, only keypoints scored above it in both poses count.

    Returns:
        (M,) OKS values in [0, 1]; 0 where no keypoint counts.
    """
    others = np.asarray(others, dtype=np.float64)
    pose = np.asarray(pose, dtype=np.float64)
    variances = _oks_variances(sigmas, pose.shape[0])
    mean_area = (area + np.asarray(other_areas, dtype=np.float64)) / 2.0 + AREA_EPS
    sq_dist = ((others[..., :2] - pose[:, :2]) ** 2).sum(axis=-1)
    similarity = np.exp(-sq_dist / variances / mean_area[:, None] / 2.0)
    return _masked_mean(similarity, pose[None, :, 2], others[..., 2], in_vis_thre)


def oks_matrix(
    poses: np.ndarray,
    areas: np.ndarray,
    sigmas: Sequence[float],
    in_vis_thre: Optional[float] = None,
) -> np.ndarray:
    """Pairwise OKS of N poses, (N, N); entry (i, j) = oks_iou(poses[i], poses[j])."""
    poses = np.asarray(poses, dtype=np.float64)
    variances = _oks_variances(sigmas, poses.shape[1])
    areas = np.asarray(areas, dtype=np.float64)
    num = poses.shape[0]
    result = np.zeros((num, num))
    # Row blocks bound the (rows, N, K) temporaries for crowded images.
    rows = max(1, MATRIX_BLOCK_ELEMENTS // max(1, num * poses.shape[1]))
    for start in range(0, num, rows):
        block = poses[start : start + rows]
        mean_area = (areas[start : start + rows, None] + areas[None, :]) / 2.0 + AREA_EPS
        sq_dist = ((block[:, None, :, :2] - poses[None, :, :, :2]) ** 2).sum(axis=-1)
        similarity = np.exp(-sq_dist / variances / mean_area[..., None] / 2.0)
        result[start : start + rows] = _masked_mean(
            similarity, block[:, None, :, 2], poses[None, :, :, 2], in_vis_thre
        )
    return result


def _masked_mean(similarity, scores_a, scores_b, in_vis_thre):
    """Mean over the last axis, over keypoints scored above in_vis_thre in both poses."""
    if in_vis_thre is None:
        return similarity.mean(axis=-1)
    mask = (scores_a > in_vis_thre) & (scores_b > in_vis_thre)
    count = mask.sum(axis=-1)
    total = (similarity * mask).sum(axis=-1)
    return np.divide(total, count, out=np.zeros_like(total), where=count > 0)


def _score_order(scores: np.ndarray) -> np.ndarray:
    # Highest score first; ties broken as HRNet's argsort()[::-1] breaks them.
    return np.argsort(scores)[::-1]


def oks_nms(
    poses: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    threshold: float,
    sigmas: Sequence[float],
    in_vis_thre: Optional[float] = None,
) -> np.ndarray:
    """Greedy OKS-NMS of the poses of one image.

    The best-scored pose is kept and every remaining pose whose OKS with it exceeds
    `threshold` is dropped, repeatedly (HRNet's oks_nms); the pairwise OKS is
    computed once as a matrix.

    Args:
        poses: (N, K, 3) x, y, score in image pixels.
        scores: (N,) pose scores.
        areas: (N,) pose areas in pixels^2.
        threshold: OKS above which a lower-scored pose is suppressed.
        sigmas: (K,) OKS sigmas.
        in_vis_thre: see `oks_iou`.

    Returns:
        (M,) int indices of the kept poses, best score first.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if scores.size == 0:
        return np.zeros(0, dtype=np.intp)
    order = _score_order(scores)
    overlap = oks_matrix(np.asarray(poses)[order], np.asarray(areas)[order], sigmas, in_vis_thre)
    suppress = overlap > threshold
    removed = np.zeros(scores.size, dtype=bool)
    keep = []
    for rank in range(scores.size):
        if removed[rank]:
            continue
        keep.append(rank)
        removed |= suppress[rank]
    return order[np.asarray(keep, dtype=np.intp)]


def soft_oks_nms(
    poses: np.ndarray,
    scores: np.ndarray,
    areas: np.ndarray,
    threshold: float,
    sigmas: Sequence[float],
    in_vis_thre: Optional[float] = None,
    max_dets: int = SOFT_NMS_MAX_DETS,
) -> Tuple[np.ndarray, np.ndarray]:
    """Soft OKS-NMS of the poses of one image (Gaussian decay, Bodla et al. 2017).

    Repeatedly keeps the best remaining pose and multiplies each other remaining
    score by exp(-oks^2 / threshold), up to `max_dets` poses (HRNet's 20). Unlike
    HRNet, which returns only the order, the decayed scores are returned too and
    used as the poses' scores.

    Returns:
        keep (M,) int indices and their decayed scores (M,) float64.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1).copy()
    if scores.size == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    overlap = oks_matrix(poses, areas, sigmas, in_vis_thre)
    alive = np.ones(scores.size, dtype=bool)
    keep, kept_scores = [], []
    while alive.any() and len(keep) < max_dets:
        candidates = np.flatnonzero(alive)
        best = candidates[_score_order(scores[candidates])[0]]
        keep.append(best)
        kept_scores.append(scores[best])
        alive[best] = False
        scores[alive] *= np.exp(-(overlap[best, alive] ** 2) / threshold)
    return np.asarray(keep, dtype=np.intp), np.asarray(kept_scores)


def group_by_image(image_ids: np.ndarray) -> list:
    """Indices of each image's entries, in order of first appearance of the image."""
    image_ids = np.asarray(image_ids).reshape(-1)
    if image_ids.size == 0:
        return []
    _, first, inverse = np.unique(image_ids, return_index=True, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(np.bincount(inverse))[:-1]
    groups = np.split(order, bounds)
    return [groups[g] for g in np.argsort(first, kind="stable")]
