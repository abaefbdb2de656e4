"""MODEL.PRETRAINED: local torchvision checkpoints load into the static backbones."""

import pytest
import torch
from torchvision.models import mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small

from dypose.config import get_config
from dypose.models import build_model

TORCHVISION = {
    "mobilenetv2": mobilenet_v2,
    "mobilenetv3_large": mobilenet_v3_large,
    "mobilenetv3_small": mobilenet_v3_small,
}


def _save(model_fn, path):
    torch.manual_seed(3)
    model = model_fn()
    torch.save(model.state_dict(), path)
    return model.state_dict()


@pytest.mark.parametrize("backbone", list(TORCHVISION))
def test_torchvision_checkpoint_loads(backbone, tmp_path):
    path = tmp_path / "imagenet.pth"
    saved = _save(TORCHVISION[backbone], path)
    model = build_model(
        get_config(None, ["MODEL.BACKBONE.NAME", backbone, "MODEL.PRETRAINED", str(path)])
    )
    loaded = model.backbone.state_dict()
    assert set(loaded) == {k for k in saved if not k.startswith("classifier.")}
    assert any(k.startswith("classifier.") for k in saved)  # and those were dropped
    for key, value in loaded.items():
        assert torch.equal(value, saved[key]), key


def test_mismatched_checkpoint_names_keys(tmp_path):
    path = tmp_path / "small.pth"
    _save(mobilenet_v3_small, path)
    cfg = get_config(None, ["MODEL.BACKBONE.NAME", "mobilenetv2", "MODEL.PRETRAINED", str(path)])
    with pytest.raises(ValueError, match=r"small\.pth.*Missing keys: features\.1\.conv\.0\.0"):
        build_model(cfg)


def test_wrong_width_names_shapes(tmp_path):
    path = tmp_path / "v2_half.pth"
    _save(lambda: mobilenet_v2(width_mult=0.5), path)
    cfg = get_config(None, ["MODEL.PRETRAINED", str(path)])
    with pytest.raises(ValueError, match=r"shapes differ.*features\.0\.0\.weight \(16, 3, 3, 3\)"):
        build_model(cfg)


def test_pretrained_errors(tmp_path):
    with pytest.raises(ValueError, match="file not found"):
        build_model(get_config(None, ["MODEL.PRETRAINED", str(tmp_path / "none.pth")]))
    path = tmp_path / "v2.pth"
    _save(mobilenet_v2, path)
    cfg = get_config(
        None, ["MODEL.PRETRAINED", str(path), "MODEL.BACKBONE.ACTIVATION.KIND", "dyrelu_c"]
    )
    with pytest.raises(ValueError, match="static backbone only"):
        build_model(cfg)
