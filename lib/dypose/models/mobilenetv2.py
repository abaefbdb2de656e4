"""MobileNetV2 backbone (Sandler et al., CVPR 2018), static or with DY-ReLU.

Parameter names match torchvision's `mobilenet_v2` (features.*), so its ImageNet checkpoints
load into the static backbone. Output: stride 32, `out_channels` channels (1280 for w <= 1).
"""

from typing import Callable

import torch
from torch import nn

from dypose.models.blocks import (
    STATIC,
    ActivationSpec,
    ConvNormAct,
    HyperSequential,
    make_divisible,
)

# (expansion t, output channels c, repeats n, first stride s), torchvision's table.
MOBILENETV2_SETTINGS = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
# Paper section 5.4 / DESIGN.md: R = 8 in MobileNetV2 backbones.
DEFAULT_REDUCTION = 8


def _relu6() -> nn.Module:
    return nn.ReLU6(inplace=True)


class InvertedResidual(nn.Module):
    """MobileNetV2's block: 1x1 expand, 3x3 depthwise, 1x1 linear projection, skip.

    With DY-ReLU the expand and depthwise activations are replaced (each pooling its conv's
    input) and, if the spec says so, a K=1 DY-ReLU follows the projection, before the skip.

    Args:
        in_channels, out_channels: channel counts.
        stride: depthwise stride (1 or 2).
        expansion: hidden channels = round(in_channels * expansion).
        act: the activation spec.
        static_act: builds the static activation (ReLU6 by default).
        norm_layer: builds the norm from the channel count.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expansion: float,
        act: ActivationSpec,
        static_act: Callable[[], nn.Module] = _relu6,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual stride must be 1 or 2; got {stride}")
        hidden = int(round(in_channels * expansion))
        self.use_res_connect = stride == 1 and in_channels == out_channels
        self.out_channels = out_channels

        layers = []
        if expansion != 1:
            expand_act = act.make(hidden, in_channels, static_act)
            layers.append(
                ConvNormAct(in_channels, hidden, 1, norm_layer=norm_layer, activation=expand_act)
            )
        depthwise_act = act.make(hidden, hidden, static_act)
        layers.append(
            ConvNormAct(
                hidden,
                hidden,
                3,
                stride,
                groups=hidden,
                norm_layer=norm_layer,
                activation=depthwise_act,
            )
        )
        layers += [nn.Conv2d(hidden, out_channels, 1, bias=False), norm_layer(out_channels)]
        projection_act = act.after_projection(out_channels, hidden)
        if projection_act is not None:
            layers.append(projection_act)
        self.conv = HyperSequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return x + y if self.use_res_connect else y


class MobileNetV2Backbone(nn.Module):
    """MobileNetV2 without pooling and classifier: (N, 3, H, W) -> (N, C, H/32, W/32).

    Args:
        width: width multiplier (channels scaled, rounded to multiples of 8); default 1.0.
        act: activation spec; static is ReLU6. The stem and the final 1x1 conv to 1280
            channels keep ReLU6 (DESIGN.md, "Where DY-ReLU goes").
    """

    def __init__(self, width: float = 1.0, act: ActivationSpec = STATIC):
        super().__init__()
        in_channels = make_divisible(STEM_CHANNELS * width)
        self.out_channels = make_divisible(LAST_CHANNELS * max(1.0, width))

        # Stem: 3x3 stride-2 conv.
        layers = [ConvNormAct(3, in_channels, 3, 2, activation=_relu6())]

        # Inverted residual stages.
        for expansion, channels, repeats, first_stride in MOBILENETV2_SETTINGS:
            out_channels = make_divisible(channels * width)
            for i in range(repeats):
                stride = first_stride if i == 0 else 1
                layers.append(InvertedResidual(in_channels, out_channels, stride, expansion, act))
                in_channels = out_channels

        # Final 1x1 conv, kept static as in the paper's counts.
        layers.append(ConvNormAct(in_channels, self.out_channels, 1, activation=_relu6()))
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)
