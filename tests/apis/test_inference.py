"""load_model and estimate_poses on stand-in networks and a tiny real one."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dypose.apis import crop_persons, estimate_poses, load_model
from dypose.config import get_config
from dypose.models import build_model

SMALL = [
    "MODEL.IMAGE_SIZE", "[64, 96]", "MODEL.HEATMAP_SIZE", "[16, 24]",
    "MODEL.BACKBONE.WIDTH", "0.25", "MODEL.HEAD.CHANNELS", "[32, 16, 16]", "DEVICE", "cpu",
]  # fmt: skip
# ImageNet mean in 0..255, per RGB channel.
MEAN_255 = np.array([0.485, 0.456, 0.406]) * 255


class _Brightness(nn.Module):
    """Heatmaps = 4x4-pooled brightness of the red channel, the same for every keypoint."""

    def __init__(self, num_keypoints: int = 17):
        super().__init__()
        self.num_keypoints = num_keypoints
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return F.avg_pool2d(x[:, :1], 4).repeat(1, self.num_keypoints, 1, 1) + self.dummy


def _blob_image(px: float, py: float) -> np.ndarray:
    ys, xs = np.mgrid[0:300, 0:400]
    blob = np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * 3.0**2))
    image = np.zeros((300, 400, 3), np.uint8)
    image[..., 0] = np.round(255 * blob).astype(np.uint8)
    return image


@pytest.mark.parametrize("flip", ["False", "True"])
def test_estimate_poses_finds_a_bright_spot_in_image_pixels(flip):
    cfg = get_config(None, SMALL + ["TEST.FLIP_TEST", flip])
    spot = (183.0, 121.0)
    boxes = np.array([[150.0, 80.0, 80.0, 120.0], [100.0, 50.0, 160.0, 200.0]])
    keypoints, scores = estimate_poses(_Brightness().eval(), cfg, _blob_image(*spot), boxes)
    assert keypoints.shape == (2, 17, 2) and scores.shape == (2, 17)
    # One heatmap cell covers stride x zoom image pixels: 4 x 1.56 and 4 x 3.13 here.
    assert np.abs(keypoints[0] - spot).max() < 4.0
    assert np.abs(keypoints[1] - spot).max() < 7.0


def test_estimate_poses_without_boxes():
    cfg = get_config(None, SMALL)
    keypoints, scores = estimate_poses(_Brightness(), cfg, np.zeros((10, 10, 3), np.uint8), [])
    assert keypoints.shape == (0, 17, 2) and scores.shape == (0, 17)


def test_crop_normalisation_and_channel_order():
    colour = np.array([200, 100, 50], np.uint8)
    image = np.broadcast_to(colour, (120, 90, 3)).copy()
    expected = (colour / 255.0 - MEAN_255 / 255) / np.array([0.229, 0.224, 0.225])
    crops, centers, scales = crop_persons(get_config(None, SMALL), image, [[20, 20, 40, 60]])
    assert crops.shape == (1, 3, 96, 64)
    assert np.allclose(crops[0, :, 48, 32].numpy(), expected, atol=1e-5)
    assert np.allclose(centers[0], [40.0, 50.0])
    # 40x60 box already 2:3 -> padded 1.25x -> 50 x 75 px = 0.25 x 0.375 PIXEL_STD.
    assert np.allclose(scales[0], [0.25, 0.375])
    bgr, _, _ = crop_persons(get_config(None, SMALL + ["DATASET.COLOR_RGB", "False"]), image,
                             [[20, 20, 40, 60]])  # fmt: skip
    bgr_expected = (colour[::-1] / 255.0 - MEAN_255 / 255) / np.array([0.229, 0.224, 0.225])
    assert np.allclose(bgr[0, :, 48, 32].numpy(), bgr_expected, atol=1e-5)


def test_load_model_restores_weights_in_eval_mode(tmp_path):
    opts = SMALL + ["MODEL.BACKBONE.ACTIVATION.KIND", "dyrelu_c"]
    cfg = get_config(None, opts)
    torch.manual_seed(3)
    trained = build_model(cfg).eval()
    path = tmp_path / "final_state.pth"
    torch.save(trained.state_dict(), path)

    loaded = load_model(cfg, str(path))
    assert not loaded.training
    x = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        assert torch.allclose(loaded(x), trained(x))
    # A training checkpoint (dict with "model") through TEST.MODEL_FILE works too.
    torch.save({"model": trained.state_dict(), "epoch": 1}, tmp_path / "checkpoint.pth")
    cfg_file = get_config(None, opts + ["TEST.MODEL_FILE", str(tmp_path / "checkpoint.pth")])
    with torch.no_grad():
        assert torch.allclose(load_model(cfg_file)(x), trained(x))


def test_load_model_errors():
    with pytest.raises(ValueError, match="no checkpoint"):
        load_model(get_config(None, SMALL), "")
    with pytest.raises(ValueError, match="checkpoint not found"):
        load_model(get_config(None, SMALL), "/nonexistent/model.pth")


def test_bad_image_raises():
    with pytest.raises(ValueError, match="uint8 RGB"):
        crop_persons(get_config(None, SMALL), np.zeros((5, 5)), [[0, 0, 5, 5]])
