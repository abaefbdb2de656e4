"""MobileNetV2/V3 backbones: torchvision-compatible static networks, DY-ReLU wiring."""

import pytest
import torch
from torchvision.models import mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small
from torchvision.ops import SqueezeExcitation

from dypose.models.blocks import ActivationSpec
from dypose.models.dyrelu import DyReLU
from dypose.models.mobilenetv2 import MobileNetV2Backbone
from dypose.models.mobilenetv3 import MobileNetV3Backbone

DYNAMIC = ActivationSpec(kind="dyrelu_c", reduction=8)


def _shapes(state):
    return {k: tuple(v.shape) for k, v in state.items()}


def _features(model):
    """torchvision's state_dict without the classifier (keys keep the "features." prefix)."""
    return {k: v for k, v in model.state_dict().items() if k.startswith("features.")}


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (lambda: MobileNetV2Backbone(1.0), lambda: mobilenet_v2()),
        (lambda: MobileNetV2Backbone(0.5), lambda: mobilenet_v2(width_mult=0.5)),
        (lambda: MobileNetV3Backbone("large"), lambda: mobilenet_v3_large()),
        (lambda: MobileNetV3Backbone("small"), lambda: mobilenet_v3_small()),
    ],
    ids=["v2_x1.0", "v2_x0.5", "v3_large", "v3_small"],
)
def test_static_backbone_is_torchvision_features(ours, theirs):
    backbone, reference = ours(), theirs()
    assert _shapes(backbone.state_dict()) == _shapes(_features(reference))
    ours_params = sum(p.numel() for p in backbone.parameters())
    assert ours_params == sum(p.numel() for p in reference.features.parameters())

    # Same weights, same function: the features of torchvision's network.
    backbone.load_state_dict(_features(reference))
    backbone.eval()
    reference.eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        torch.testing.assert_close(backbone(x), reference.features(x))
    assert backbone(x).shape[1] == backbone.out_channels


def _dyrelus(module):
    return [m for m in module.modules() if isinstance(m, DyReLU)]


def test_mobilenetv2_dyrelu_placement():
    backbone = MobileNetV2Backbone(1.0, DYNAMIC)
    # 17 blocks: the first (t = 1) has depthwise + projection, the other 16 expand too.
    assert len(_dyrelus(backbone)) == 2 + 16 * 3
    # The stem and the final 1x1 conv keep ReLU6.
    assert isinstance(backbone.features[0][2], torch.nn.ReLU6)
    assert isinstance(backbone.features[-1][2], torch.nn.ReLU6)

    block = backbone.features[2]  # 16 -> 24, expansion 6
    expand, depthwise, projection = block.conv[0][2], block.conv[1][2], block.conv[4]
    # The hyper function pools the input of the conv before the activation.
    assert (expand.fc1.in_features, expand.channels, expand.num_pieces) == (16, 96, 2)
    assert (depthwise.fc1.in_features, depthwise.channels) == (96, 96)
    assert (projection.fc1.in_features, projection.channels, projection.num_pieces) == (96, 24, 1)
    assert expand.fc1.out_features == 16 // 8 and expand.fc2.out_features == 2 * 2 * 96
    assert expand.variant == "c"

    no_projection = MobileNetV2Backbone(1.0, ActivationSpec(kind="dyrelu_b", projection=False))
    assert len(_dyrelus(no_projection)) == 1 + 16 * 2


@pytest.mark.parametrize("arch, blocks", [("large", 15), ("small", 11)])
def test_mobilenetv3_dyrelu_removes_se(arch, blocks):
    static = MobileNetV3Backbone(arch)
    assert any(isinstance(m, SqueezeExcitation) for m in static.modules())
    dynamic = MobileNetV3Backbone(arch, act=ActivationSpec(kind="dyrelu_c", reduction=4))
    assert not any(isinstance(m, SqueezeExcitation) for m in dynamic.modules())
    # First block has no expand conv; the final 1x1 conv gets one too; the stem stays static.
    assert len(_dyrelus(dynamic)) == 2 + (blocks - 1) * 3 + 1
    assert isinstance(dynamic.features[0][2], torch.nn.Hardswish)
    last = dynamic.features[-1][2]
    assert last.channels == dynamic.out_channels == {"large": 960, "small": 576}[arch]
    assert last.fc1.out_features == last.fc1.in_features // 4


@pytest.mark.parametrize("kind", ["dyrelu_a", "dyrelu_b", "dyrelu_c"])
def test_dynamic_backbones_run_and_backpropagate(kind):
    for backbone in (
        MobileNetV2Backbone(0.5, ActivationSpec(kind=kind)),
        MobileNetV3Backbone("small", act=ActivationSpec(kind=kind)),
    ):
        x = torch.randn(2, 3, 64, 32)
        y = backbone(x)
        assert y.shape == (2, backbone.out_channels, 2, 1)
        y.square().mean().backward()
        grads = [p.grad for p in backbone.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
