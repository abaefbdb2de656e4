"""MobileNetV3 Large and Small backbones (Howard et al., ICCV 2019), static or with DY-ReLU.

Static: ReLU / h-swish and SE exactly as torchvision's `mobilenet_v3_large/small` (parameter
names included, so their ImageNet checkpoints load). With DY-ReLU (paper section 5.4): SE
blocks are removed, every ReLU and h-swish after an expand or depthwise conv and after the
final 1x1 conv becomes a DY-ReLU, and (by default) a K=1 DY-ReLU follows each projection.
The stem keeps h-swish.
"""

from functools import partial
from typing import Callable

import torch
from torch import nn
from torchvision.ops import SqueezeExcitation

from dypose.models.blocks import STATIC, ActivationSpec, ConvNormAct, make_divisible

# (input c, kernel, expanded c, output c, SE, activation "RE"/"HS", stride), torchvision's.
MOBILENETV3_SETTINGS = {
    "large": (
        (16, 3, 16, 16, False, "RE", 1),
        (16, 3, 64, 24, False, "RE", 2),
        (24, 3, 72, 24, False, "RE", 1),
        (24, 5, 72, 40, True, "RE", 2),
        (40, 5, 120, 40, True, "RE", 1),
        (40, 5, 120, 40, True, "RE", 1),
        (40, 3, 240, 80, False, "HS", 2),
        (80, 3, 200, 80, False, "HS", 1),
        (80, 3, 184, 80, False, "HS", 1),
        (80, 3, 184, 80, False, "HS", 1),
        (80, 3, 480, 112, True, "HS", 1),
        (112, 3, 672, 112, True, "HS", 1),
        (112, 5, 672, 160, True, "HS", 2),
        (160, 5, 960, 160, True, "HS", 1),
        (160, 5, 960, 160, True, "HS", 1),
    ),
    "small": (
        (16, 3, 16, 16, True, "RE", 2),
        (16, 3, 72, 24, False, "RE", 2),
        (24, 3, 88, 24, False, "RE", 1),
        (24, 5, 96, 40, True, "HS", 2),
        (40, 5, 240, 40, True, "HS", 1),
        (40, 5, 240, 40, True, "HS", 1),
        (40, 5, 120, 48, True, "HS", 1),
        (48, 5, 144, 48, True, "HS", 1),
        (48, 5, 288, 96, True, "HS", 2),
        (96, 5, 576, 96, True, "HS", 1),
        (96, 5, 576, 96, True, "HS", 1),
    ),
}
STEM_CHANNELS = 16
# The final 1x1 conv widens the last block's output 6x (960 Large, 576 Small).
LAST_CONV_EXPANSION = 6
# SE squeezes to a quarter of the expanded channels (rounded to 8), with a hard sigmoid.
SE_DIVISOR = 4
# Paper section 5.4 / DESIGN.md: R = 4 in MobileNetV3 backbones.
DEFAULT_REDUCTION = 4
# torchvision's BatchNorm settings for MobileNetV3 (its checkpoints were trained with them).
_norm_layer = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


def _static(kind: str) -> Callable[[], nn.Module]:
    return partial(nn.Hardswish, inplace=True) if kind == "HS" else partial(nn.ReLU, inplace=True)


class InvertedResidualV3(nn.Module):
    """MobileNetV3's block: [1x1 expand], kxk depthwise, [SE], 1x1 projection, skip.

    Children live in `block` as in torchvision. With DY-ReLU there is no SE and the
    projection stack gets the K=1 DY-ReLU as its child 2.
    """

    def __init__(self, setting: tuple, width: float, act: ActivationSpec):
        super().__init__()
        in_c, kernel, expanded, out_c, use_se, act_name, stride = setting
        in_c, expanded, out_c = (make_divisible(c * width) for c in (in_c, expanded, out_c))
        self.use_res_connect = stride == 1 and in_c == out_c
        self.out_channels = out_c
        static = _static(act_name)

        layers = []
        if expanded != in_c:
            layers.append(
                ConvNormAct(
                    in_c,
                    expanded,
                    1,
                    norm_layer=_norm_layer,
                    activation=act.make(expanded, in_c, static),
                )
            )
        layers.append(
            ConvNormAct(
                expanded,
                expanded,
                kernel,
                stride,
                groups=expanded,
                norm_layer=_norm_layer,
                activation=act.make(expanded, expanded, static),
            )
        )
        if use_se and not act.dynamic:
            squeeze = make_divisible(expanded // SE_DIVISOR, 8)
            layers.append(SqueezeExcitation(expanded, squeeze, scale_activation=nn.Hardsigmoid))
        layers.append(
            ConvNormAct(
                expanded,
                out_c,
                1,
                norm_layer=_norm_layer,
                activation=act.after_projection(out_c, expanded),
            )
        )
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_res_connect else y


class MobileNetV3Backbone(nn.Module):
    """MobileNetV3 without pooling and classifier: (N, 3, H, W) -> (N, C, H/32, W/32).

    Args:
        arch: "large" or "small".
        width: width multiplier (torchvision's rule; 1.0 is the published network).
        act: activation spec.
    """

    def __init__(self, arch: str = "large", width: float = 1.0, act: ActivationSpec = STATIC):
        super().__init__()
        if arch not in MOBILENETV3_SETTINGS:
            raise ValueError(f"MobileNetV3 arch must be 'large' or 'small'; got {arch!r}")
        settings = MOBILENETV3_SETTINGS[arch]
        stem = make_divisible(STEM_CHANNELS * width)

        # Stem: 3x3 stride-2 conv with h-swish, static in every variant.
        layers = [
            ConvNormAct(
                3, stem, 3, 2, norm_layer=_norm_layer, activation=nn.Hardswish(inplace=True)
            )
        ]

        # Blocks.
        for setting in settings:
            layers.append(InvertedResidualV3(setting, width, act))

        # Final 1x1 conv to 6x channels: h-swish, or DY-ReLU in the dynamic network.
        last_in = layers[-1].out_channels
        self.out_channels = LAST_CONV_EXPANSION * last_in
        last_act = act.make(self.out_channels, last_in, _static("HS"))
        layers.append(
            ConvNormAct(last_in, self.out_channels, 1, norm_layer=_norm_layer, activation=last_act)
        )
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
