"""Reading images as the annotations see them: the stored pixel grid, 3-channel RGB.

EXIF orientation is ignored on purpose: COCO's keypoints refer to the stored pixel
grid, so honouring the tag would rotate the image away from its annotations.
Grayscale, palette, RGBA (alpha dropped, not blended) and CMYK files all come back as
(H, W, 3) uint8 RGB.

Reduced decoding: JPEG can be decoded directly at 1/2 or 1/4 size (libjpeg's DCT
scaling), much faster than a full decode followed by a downscale. A reduced pixel i
covers full-size pixels [f i, f i + f - 1], so its centre sits at full-size coordinate
f i + (f - 1) / 2; `reduced_to_full` holds that mapping and `read_image` callers
compose it into their crop transform.
"""

import logging
import os
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

logger = logging.getLogger(__name__)

# Decode flags: always 3 channels, stored orientation, optionally at 1/f size.
_FLAGS = {
    1: cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION,
    2: cv2.IMREAD_REDUCED_COLOR_2 | cv2.IMREAD_IGNORE_ORIENTATION,
    4: cv2.IMREAD_REDUCED_COLOR_4 | cv2.IMREAD_IGNORE_ORIENTATION,
    8: cv2.IMREAD_REDUCED_COLOR_8 | cv2.IMREAD_IGNORE_ORIENTATION,
}
# OpenCV >= 4.10 can have the decoder emit RGB directly (no conversion pass).
_RGB_FLAG = getattr(cv2, "IMREAD_COLOR_RGB", None)
REDUCE_FACTORS = tuple(sorted(_FLAGS))
# File endings whose decoder scales natively (other formats would decode then resize).
_SCALABLE_ENDINGS = (".jpg", ".jpeg", ".jpe")


class ImageReadError(ValueError):
    """An image file that is missing, empty or cannot be decoded."""


def _check_file(path: str) -> None:
    if not os.path.isfile(path):
        raise ImageReadError(
            f"image file not found: {os.path.abspath(path)} (check DATASET.ROOT and the "
            "file_name fields of the annotation json)"
        )
    if os.path.getsize(path) == 0:
        raise ImageReadError(f"image file is empty (0 bytes): {os.path.abspath(path)}")


def read_image(path: str, reduce: int = 1, rgb: bool = True) -> np.ndarray:
    """Reads an image file as 8-bit, 3-channel, in its stored orientation.

    Args:
        path: image file.
        reduce: 1, 2, 4 or 8: decode at 1/reduce size (JPEG natively; other formats
            are resized by OpenCV). Sizes round up for JPEG.
        rgb: channel order RGB (True, DyPose's order) or BGR.

    Returns:
        np.uint8 (H, W, 3).

    Raises:
        ImageReadError: the file is missing, empty or not a decodable image; the
            message names the full path.
    """
    if reduce not in _FLAGS:
        raise ValueError(f"reduce must be one of {REDUCE_FACTORS}; got {reduce}")
    _check_file(path)
    flags = _FLAGS[reduce]
    direct_rgb = rgb and _RGB_FLAG is not None
    if direct_rgb:
        # The RGB flag replaces the BGR colour bit; both set is an error.
        flags = (flags & ~cv2.IMREAD_COLOR) | _RGB_FLAG
    image = cv2.imread(path, flags)
    if image is None:
        raise ImageReadError(f"cannot decode image file: {os.path.abspath(path)}")
    if rgb and not direct_rgb:
        # In place: no second full-size buffer.
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)
    return image


def can_reduce(path: str) -> bool:
    """Whether `path` decodes natively at reduced size (JPEG)."""
    return path.lower().endswith(_SCALABLE_ENDINGS)


def reduced_to_full(reduce: int) -> np.ndarray:
    """The 3x3 matrix mapping pixel coordinates of a 1/reduce decode to full size."""
    offset = (reduce - 1) * 0.5
    return np.array([[reduce, 0.0, offset], [0.0, reduce, offset], [0.0, 0.0, 1.0]])


def check_size(image_shape: Sequence[int], expected: Tuple[int, int], path: str, reduce: int = 1):
    """Returns a message when a decoded size differs from the json's (W, H), else None."""
    height, width = int(image_shape[0]), int(image_shape[1])
    exp_w, exp_h = int(expected[0]), int(expected[1])
    # A 1/f decode is ceil(size / f) for JPEG and floor(size / f) after a resize.
    ok_w = width in (exp_w // reduce, -(-exp_w // reduce))
    ok_h = height in (exp_h // reduce, -(-exp_h // reduce))
    if ok_w and ok_h:
        return None
    return (
        f"{os.path.abspath(path)} decodes to {width * reduce}x{height * reduce} but the "
        f"annotation json says {exp_w}x{exp_h} (width x height); its keypoints may not "
        "match the pixels"
    )


def check_images(records: Sequence[dict]) -> List[Tuple[str, str]]:
    """Preflight: decodes every distinct image of `records` once and lists the bad ones.

    Args:
        records: dicts with "image_path" and optionally "width", "height" (from
            `dypose.data.coco.load_records`).

    Returns:
        [(full path, reason)] for missing, empty, undecodable or wrongly sized files,
        in record order; empty when all are fine.
    """
    bad, seen = [], set()
    for record in records:
        path = record["image_path"]
        if path in seen:
            continue
        seen.add(path)
        try:
            image = read_image(path, reduce=4 if can_reduce(path) else 1)
        except ImageReadError as err:
            bad.append((os.path.abspath(path), str(err)))
            continue
        if record.get("width") and record.get("height"):
            reduce = 4 if can_reduce(path) else 1
            message = check_size(image.shape, (record["width"], record["height"]), path, reduce)
            if message:
                bad.append((os.path.abspath(path), message))
    return bad


def describe_bad_images(bad: Sequence[Tuple[str, str]], limit: Optional[int] = None) -> str:
    """A multi-line report of `check_images` output for tools' --check option."""
    lines = [f"{len(bad)} bad image file(s):"]
    for path, reason in list(bad)[:limit]:
        lines.append(f"  {path}: {reason}")
    return "\n".join(lines)
