"""Image decoding (issue 6, cases 7 and 8): modes, orientation, missing and empty files."""

import logging
import os

import cv2
import numpy as np
import pytest

from dypose.data import build_dataset, check_images, read_image
from dypose.data.image_io import ImageReadError, reduced_to_full

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

RED, BLUE = (255, 0, 0), (0, 0, 255)


def two_colour_rgb() -> np.ndarray:
    """640x480 RGB: left half red, right half blue (orientation and channel order show)."""
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    image[:, :320] = RED
    image[:, 320:] = BLUE
    return image


def write_unusual_images(folder) -> dict:
    rgb = two_colour_rgb()
    paths = {name: str(folder / name) for name in
             ("gray.png", "rgba.png", "cmyk.jpg", "palette.png", "exif6.jpg")}  # fmt: skip
    Image.fromarray(rgb).convert("L").save(paths["gray.png"])
    rgba = np.dstack([rgb, np.full((480, 640), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(paths["rgba.png"])
    Image.fromarray(rgb).convert("CMYK").save(paths["cmyk.jpg"], quality=95)
    Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4).save(
        paths["palette.png"]
    )
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(rgb).save(paths["exif6.jpg"], quality=95, exif=exif)
    return paths


def test_unusual_modes_decode_to_stored_rgb_grid(tmp_path):
    paths = write_unusual_images(tmp_path)
    assert Image.open(paths["cmyk.jpg"]).mode == "CMYK"
    assert Image.open(paths["palette.png"]).mode == "P"
    assert Image.open(paths["exif6.jpg"]).getexif()[0x0112] == 6
    for name, path in paths.items():
        image = read_image(path)
        assert image.shape == (480, 640, 3) and image.dtype == np.uint8, name
        left, right = image[240, 100].astype(int), image[240, 540].astype(int)
        if name == "gray.png":
            # ITU-R 601 luma of pure red (76) and pure blue (29), in all three channels.
            np.testing.assert_allclose(left, [76] * 3, atol=2)
            np.testing.assert_allclose(right, [29] * 3, atol=2)
        else:
            # Stored grid, RGB order: red stays on the left (orientation tag ignored).
            np.testing.assert_allclose(left, RED, atol=40, err_msg=name)
            np.testing.assert_allclose(right, BLUE, atol=40, err_msg=name)


def test_reduced_decode_and_its_mapping(tmp_path):
    path = str(tmp_path / "grid.jpg")
    image = np.zeros((480, 640, 3), np.uint8)
    image[200:280, 300:340] = 255
    cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_QUALITY, 100])
    half = read_image(path, reduce=2)
    assert half.shape == (240, 320, 3)
    # Reduced pixel (160, 120) sits at full-size (320.5, 240.5), the white block's centre.
    np.testing.assert_allclose(reduced_to_full(2) @ [160, 120, 1], [320.5, 240.5, 1])
    assert half[120, 160].min() > 200 and half[90, 160].max() < 60


def test_missing_and_empty_files(tmp_path, toy):
    images = [toy.image_entry(1, "missing.jpg"), toy.image_entry(2, "empty.jpg"),
              toy.image_entry(3, "fine.jpg")]  # fmt: skip
    annotations = [toy.standard_annotation(i, i) for i in (1, 2, 3)]
    toy.write_coco(tmp_path, "toy", images, annotations)
    folder = tmp_path / "images" / "toy"
    os.remove(folder / "missing.jpg")
    (folder / "empty.jpg").write_bytes(b"")
    dataset = build_dataset(toy.config_for(tmp_path), "val")

    missing = str(folder / "missing.jpg")
    with pytest.raises(ImageReadError, match=f"image file not found: {missing}"):
        dataset[0]
    with pytest.raises(ImageReadError, match=rf"empty \(0 bytes\): {folder / 'empty.jpg'}"):
        dataset[1]
    assert dataset[2][0].shape == (3, 256, 192)
    bad = check_images(dataset.records)
    assert [path for path, _ in bad] == [missing, str(folder / "empty.jpg")]


def test_size_mismatch_is_reported(tmp_path, toy, caplog):
    # The json says 480x640 (portrait) but the file holds the stored 640x480 grid.
    toy.write_coco(tmp_path, "toy", [toy.image_entry(1, "a.jpg")], [toy.standard_annotation()])
    cv2.imwrite(str(tmp_path / "images" / "toy" / "a.jpg"), two_colour_rgb())
    entry = toy.image_entry(1, "a.jpg", width=480, height=640)
    toy.write_coco(tmp_path, "toy", [entry], [toy.standard_annotation()], write_images=False)
    dataset = build_dataset(toy.config_for(tmp_path), "val")
    ((path, reason),) = check_images(dataset.records)
    assert (
        path.endswith("a.jpg")
        and "decodes to 640x480 but the annotation json says 480x640" in reason
    )
    with caplog.at_level(logging.WARNING, logger="dypose.data.dataset"):
        dataset[0]
    assert "a.jpg decodes to 640x480 but the annotation json says 480x640" in caplog.text
