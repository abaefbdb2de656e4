"""Heatmap post-processing: flip-test averaging and decoding to image keypoints.

Frames (see dypose.data.transforms): heatmap coordinates are crop coordinates / stride
with no half-pixel offset, and the crop is undone with the inverse of the affine that
made it, as HRNet does, so that AP figures agree with published ones.
"""

from typing import Sequence, Tuple, Union

import numpy as np
import torch

from dypose.data.transforms import PIXEL_STD

Array = Union[np.ndarray, torch.Tensor]

# HRNet's quarter-pixel step toward the higher neighbour of the argmax.
QUARTER_OFFSET = 0.25


def _flip_permutation(num_keypoints: int, flip_pairs: Sequence[Sequence[int]]) -> np.ndarray:
    """Channel order after a horizontal flip: each (left, right) pair swapped."""
    perm = np.arange(num_keypoints)
    for left, right in flip_pairs:
        if not (0 <= left < num_keypoints and 0 <= right < num_keypoints):
            raise ValueError(
                f"flip pair ({left}, {right}) is outside 0..{num_keypoints - 1}; check "
                "DATASET.FLIP_PAIRS against MODEL.NUM_JOINTS"
            )
        perm[left], perm[right] = right, left
    return perm


def flip_back(heatmaps: Array, flip_pairs: Sequence[Sequence[int]]) -> Array:
    """Undoes the horizontal flip of a crop on its heatmaps.

    The network saw the mirrored crop (`images.flip(3)` in `predict`; training's
    counterpart is dypose.data.augment.flip_keypoints), so its heatmaps are mirrored
    along the width and each left keypoint's channel holds the right keypoint; this
    mirrors the width axis back and swaps every (left, right) channel pair. It is its
    own inverse.

    Args:
        heatmaps: (N, K, h, w) numpy array or torch tensor (any device).
        flip_pairs: 0-based (left, right) keypoint index pairs.

    Returns:
        (N, K, h, w), same type (and device) as the input; a new array.
    """
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must be (N, K, h, w); got shape {tuple(heatmaps.shape)}")
    perm = _flip_permutation(heatmaps.shape[1], flip_pairs)
    if isinstance(heatmaps, torch.Tensor):
        index = torch.as_tensor(perm, device=heatmaps.device)
        return heatmaps.index_select(1, index).flip(3)
    return np.ascontiguousarray(heatmaps[:, perm, :, ::-1])


def flip_average(
    heatmaps: Array,
    flipped_heatmaps: Array,
    flip_pairs: Sequence[Sequence[int]],
    shift: bool = True,
    inplace: bool = False,
) -> Array:
    """Flip test: averages the heatmaps of a crop and of its mirror image.

    `flipped_heatmaps` (the network's output on the mirrored crop) go through
    `flip_back`; with `shift` they then move one column right (column 0 keeps its
    value), HRNet's TEST.SHIFT_HEATMAP alignment of the mirrored grid, before the
    mean is taken.

    Args:
        heatmaps: (N, K, h, w) heatmaps of the crops (numpy or torch, any device).
        flipped_heatmaps: (N, K, h, w) heatmaps of the horizontally flipped crops.
        flip_pairs: 0-based (left, right) keypoint index pairs.
        shift: shift the flipped-back heatmaps one column right.
        inplace: write the average into `heatmaps` (saves a copy; `predict` owns them).

    Returns:
        (N, K, h, w) averaged heatmaps, same type (and device) as `heatmaps`.
    """
    if tuple(heatmaps.shape) != tuple(flipped_heatmaps.shape) or heatmaps.ndim != 4:
        raise ValueError(
            f"heatmaps {tuple(heatmaps.shape)} and flipped heatmaps "
            f"{tuple(flipped_heatmaps.shape)} must share one (N, K, h, w) shape"
        )
    perm = _flip_permutation(heatmaps.shape[1], flip_pairs)
    is_tensor = isinstance(heatmaps, torch.Tensor)
    if is_tensor and heatmaps.device.type != "cpu":
        return _flip_average_torch(heatmaps, flipped_heatmaps, perm, shift, inplace)
    # On the CPU, numpy's reversed views avoid torch.flip's copy (2-3x less memory traffic).
    summed = _to_numpy(heatmaps) if inplace else _to_numpy(heatmaps).copy()
    flipped = _to_numpy(flipped_heatmaps)
    for k, source in enumerate(perm):
        # flip_back: channel k of the mirror's output is keypoint perm[k], read right to left.
        if shift:
            summed[:, k, :, 1:] += flipped[:, source, :, :0:-1]
            summed[:, k, :, :1] += flipped[:, source, :, -1:]
        else:
            summed[:, k] += flipped[:, source, :, ::-1]
        summed[:, k] *= 0.5
    if not is_tensor:
        return summed
    return heatmaps if inplace else torch.from_numpy(summed)


def _flip_average_torch(heatmaps, flipped, perm, shift, inplace):
    """flip_average for accelerator tensors (torch.flip is cheap there)."""
    back = flipped.index_select(1, torch.as_tensor(perm, device=flipped.device)).flip(3)
    summed = heatmaps if inplace else heatmaps.clone()
    if shift:
        # Column j takes column j - 1 of the flipped-back maps; column 0 keeps its own.
        summed[..., 1:] += back[..., :-1]
        summed[..., :1] += back[..., :1]
    else:
        summed += back
    return summed.mul_(0.5)


def _peaks_numpy(heatmaps: np.ndarray, quarter_offset: bool) -> np.ndarray:
    """(N, K, 3): argmax x, y in heatmap pixels (quarter step applied) and peak value."""
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    index = flat.argmax(axis=2)
    packed = np.empty((n, k, 3), dtype=np.float32)
    packed[..., 2] = np.take_along_axis(flat, index[..., None], 2)[..., 0]
    px, py = index % w, index // w
    packed[..., 0], packed[..., 1] = px, py
    if not quarter_offset:
        return packed

    # HRNet's rule: only peaks with both neighbours safely inside the map move.
    inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    right, down = np.minimum(index + 1, h * w - 1), np.minimum(index + w, h * w - 1)
    left, up = np.maximum(index - 1, 0), np.maximum(index - w, 0)
    # The sign of a float difference is exact, so no widening is needed.
    values = np.take_along_axis(flat, np.stack([right, left, down, up], axis=2), 2)
    packed[..., 0] += np.sign(values[..., 0] - values[..., 1]) * QUARTER_OFFSET * inside
    packed[..., 1] += np.sign(values[..., 2] - values[..., 3]) * QUARTER_OFFSET * inside
    return packed


def _peaks_torch(heatmaps: torch.Tensor, quarter_offset: bool) -> torch.Tensor:
    """`_peaks_numpy` on the tensor's device; returns (N, K, 3) float32 there."""
    n, k, h, w = heatmaps.shape
    flat = heatmaps.reshape(n, k, h * w)
    maxvals, index = flat.max(dim=2)
    px = index % w
    py = torch.div(index, w, rounding_mode="floor")
    coords = torch.stack([px, py], dim=2).to(torch.float32)
    if quarter_offset:
        inside = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
        right, down = (index + 1).clamp(max=h * w - 1), (index + w).clamp(max=h * w - 1)
        left, up = (index - 1).clamp(min=0), (index - w).clamp(min=0)
        values = flat.gather(2, torch.stack([right, left, down, up], dim=2))
        diff = torch.stack([values[..., 0] - values[..., 1], values[..., 2] - values[..., 3]], 2)
        coords = coords + torch.sign(diff).float() * QUARTER_OFFSET * inside.unsqueeze(2)
    return torch.cat([coords, maxvals.unsqueeze(2).float()], dim=2)


def heatmap_to_image(
    coords: np.ndarray, centers: np.ndarray, scales: np.ndarray, heatmap_size: Sequence[int]
) -> np.ndarray:
    """Maps heatmap-frame points to the image frame for each instance at once.

    This is `get_affine_transform(center, scale, 0, heatmap_size, inverse=True)` (the
    inverse of the crop, with the heatmap as output) composed in closed form for all
    N: rotation 0 leaves a zoom of scale_x * PIXEL_STD / w and a translation.

    Args:
        coords: (N, K, 2) heatmap pixels.
        centers: (N, 2) image pixels.
        scales: (N, 2) units of PIXEL_STD.
        heatmap_size: (w, h).

    Returns:
        (N, K, 2) float64 image pixels.
    """
    out_w, out_h = float(heatmap_size[0]), float(heatmap_size[1])
    centers = np.asarray(centers, dtype=np.float64).reshape(-1, 1, 2)
    scales = np.asarray(scales, dtype=np.float64).reshape(-1, 2)
    # One zoom for x and y (the scale was fitted to the crop's aspect ratio).
    zoom = (scales[:, 0] * PIXEL_STD / out_w).reshape(-1, 1, 1)
    crop_center = np.array([out_w * 0.5, out_h * 0.5])
    return (np.asarray(coords, dtype=np.float64) - crop_center) * zoom + centers


def decode_heatmaps(
    heatmaps: Array, centers: Array, scales: Array, quarter_offset: bool = True
) -> Tuple[np.ndarray, np.ndarray]:
    """Turns heatmaps into image-frame keypoints and their peak values.

    Per channel: the argmax, then (with `quarter_offset`, TEST.POST_PROCESS) a step of
    a quarter pixel in x and y toward the higher neighbour for peaks with
    1 < x < w - 1 and 1 < y < h - 1, then the inverse of the crop transform. The
    argmax and step run where the heatmaps are (one transfer of (N, K, 3) numbers).
    Channels whose peak is <= 0 keep their argmax (HRNet zeroes them, which only moves
    an unscored keypoint to the crop's corner). This undoes dypose.data.targets
    (image -> crop -> heatmap cell); `heatmap_to_image` is the inverse crop.

    Args:
        heatmaps: (N, K, h, w) numpy array or torch tensor on any device.
        centers: (N, 2) crop centers, image pixels.
        scales: (N, 2) crop sizes in units of PIXEL_STD (200 px).
        quarter_offset: apply HRNet's quarter-pixel refinement.

    Returns:
        keypoints (N, K, 2) float32 image pixels and scores (N, K) float32 peak values.
    """
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must be (N, K, h, w); got shape {tuple(heatmaps.shape)}")
    n, k, h, w = heatmaps.shape
    if n == 0:
        return np.zeros((0, k, 2), np.float32), np.zeros((0, k), np.float32)
    if isinstance(heatmaps, torch.Tensor) and heatmaps.device.type != "cpu":
        packed = _peaks_torch(heatmaps.detach(), quarter_offset).cpu().numpy()
    else:
        # numpy's argmax is several times faster than torch's max on the CPU.
        packed = _peaks_numpy(_to_numpy(heatmaps), quarter_offset)
    centers = _to_numpy(centers)
    scales = _to_numpy(scales)
    if centers.shape != (n, 2) or scales.shape != (n, 2):
        raise ValueError(
            f"centers {centers.shape} and scales {scales.shape} must both be ({n}, 2) "
            f"for {n} heatmaps"
        )
    keypoints = heatmap_to_image(packed[..., :2], centers, scales, (w, h))
    return keypoints.astype(np.float32), packed[..., 2].astype(np.float32)


def _to_numpy(value: Array) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)
