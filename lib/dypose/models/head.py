"""The keypoint head: three x2 upsamplings and MobileNetV2 inverted residual blocks.

DESIGN.md, Architecture (reconstructed from the paper's Table 10 counts; the channel plan is
our best reading of the Dynamic Convolution paper's head). With C0, C1, C2 = CHANNELS:

    0  x2 bilinear upsample            Cb x H/16
    1  1x1 conv Cb -> C0, BN, act      C0 x H/16
    2  inverted residual C0 -> C0, skip
    3  x2 upsample                     C0 x H/8
    4  inverted residual C0 -> C1
    5  inverted residual C1 -> C1, skip
    6  x2 upsample                     C1 x H/4
    7  inverted residual C1 -> C2
    8  1x1 conv C2 -> K (bias): the heatmaps
"""

from typing import Sequence

import torch
from torch import nn

from dypose.models.blocks import STATIC, ActivationSpec, ConvNormAct
from dypose.models.mobilenetv2 import InvertedResidual

# Paper section 5.4 / DESIGN.md: R = 16 in the head.
DEFAULT_REDUCTION = 16
# HRNet's initialisation of the final heatmap layer: small weights, zero bias.
FINAL_LAYER_STD = 0.001
UPSAMPLE_FACTOR = 2


def _upsample() -> nn.Module:
    return nn.Upsample(scale_factor=UPSAMPLE_FACTOR, mode="bilinear", align_corners=False)


def _relu6() -> nn.Module:
    return nn.ReLU6(inplace=True)


class PoseHead(nn.Module):
    """Upsampling head: (N, Cb, H/32, W/32) backbone features -> (N, K, H/4, W/4) heatmaps.

    Args:
        in_channels: Cb, the backbone's output channels.
        num_keypoints: K heatmaps.
        channels: output channels of steps 1, 4-5 and 7; default (192, 96, 16).
        expansion: expansion ratio of the inverted residual blocks; default 6.
        act: activation spec; static is ReLU6 (no SE).
    """

    def __init__(
        self,
        in_channels: int,
        num_keypoints: int,
        channels: Sequence[int] = (192, 96, 16),
        expansion: float = 6,
        act: ActivationSpec = STATIC,
    ):
        super().__init__()
        c0, c1, c2 = channels

        def block(cin: int, cout: int) -> nn.Module:
            return InvertedResidual(cin, cout, 1, expansion, act, static_act=_relu6)

        self.layers = nn.Sequential(
            _upsample(),
            ConvNormAct(in_channels, c0, 1, activation=act.make(c0, in_channels, _relu6)),
            block(c0, c0),
            _upsample(),
            block(c0, c1),
            block(c1, c1),
            _upsample(),
            block(c1, c2),
        )
        self.final_layer = nn.Conv2d(c2, num_keypoints, 1)

    def init_final_layer(self) -> None:
        nn.init.normal_(self.final_layer.weight, std=FINAL_LAYER_STD)
        nn.init.zeros_(self.final_layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.final_layer(self.layers(x))
