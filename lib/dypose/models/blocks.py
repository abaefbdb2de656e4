"""Building blocks shared by the backbones and the head: activation choice and conv stacks.

Layer names follow torchvision's (a conv-norm-activation stack is a Sequential with children
0, 1, 2), so that torchvision ImageNet checkpoints load into the static backbones.
"""

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import torch
from torch import nn

from dypose.models.dyrelu import DyReLU

ACTIVATION_KINDS = ("static", "dyrelu_a", "dyrelu_b", "dyrelu_c")


def make_divisible(value: float, divisor: int = 8) -> int:
    """Rounds a channel count to the nearest multiple of `divisor`, never below 90% of it.

    The MobileNets' width rule, so that widths match torchvision's (and its checkpoints).
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


@dataclass(frozen=True)
class ActivationSpec:
    """Which activation a network part uses (static or DY-ReLU) and its settings.

    Attributes:
        kind: "static" or "dyrelu_a" / "dyrelu_b" / "dyrelu_c".
        num_pieces: K of the DY-ReLUs that replace static activations.
        reduction: R of their hyper functions.
        projection: add a K=1 DY-ReLU after every projection conv (section 5.1).
        lambda_a, lambda_b, init_alpha, init_beta, tau, gamma_divisor: Eq. (3) and (4).
    """

    kind: str = "static"
    num_pieces: int = 2
    reduction: int = 8
    projection: bool = True
    lambda_a: float = 1.0
    lambda_b: float = 0.5
    init_alpha: Sequence[float] = (1.0, 0.0)
    init_beta: Sequence[float] = (0.0, 0.0)
    tau: float = 10.0
    gamma_divisor: float = 3.0

    def __post_init__(self):
        if self.kind not in ACTIVATION_KINDS:
            raise ValueError(
                f"activation kind {self.kind!r} is not valid; choose one of: "
                f"{', '.join(ACTIVATION_KINDS)}"
            )

    @property
    def dynamic(self) -> bool:
        return self.kind != "static"

    def dyrelu(self, channels: int, hyper_channels: int, num_pieces: int) -> DyReLU:
        """A DY-ReLU of this spec's variant activating `channels`, pooling `hyper_channels`."""
        return DyReLU(
            channels,
            hyper_channels,
            num_pieces=num_pieces,
            reduction=self.reduction,
            variant=self.kind[-1],
            lambda_a=self.lambda_a,
            lambda_b=self.lambda_b,
            init_alpha=self.init_alpha,
            init_beta=self.init_beta,
            tau=self.tau,
            gamma_divisor=self.gamma_divisor,
            inplace=True,
        )

    def make(self, channels: int, hyper_channels: int, static: Callable[[], nn.Module]):
        """The activation after a conv from `hyper_channels` to `channels` channels.

        Args:
            channels: the conv's output channels (the activated tensor's).
            hyper_channels: the conv's input channels (the DY-ReLU hyper function's input).
            static: builds the network's own activation, used when kind is "static".
        """
        if not self.dynamic:
            return static()
        return self.dyrelu(channels, hyper_channels, self.num_pieces)

    def after_projection(self, channels: int, hyper_channels: int) -> Optional[DyReLU]:
        """The K=1 DY-ReLU after a projection conv, or None (static, or switched off)."""
        if not (self.dynamic and self.projection):
            return None
        return self.dyrelu(channels, hyper_channels, 1)


# The networks' own activations (the default of every builder).
STATIC = ActivationSpec()


class HyperSequential(nn.Sequential):
    """A Sequential whose DY-ReLUs pool the input of the convolution before them.

    DESIGN.md (Architecture): the hyper function's input is the input of the convolution that
    precedes the activation. Other children are called as in nn.Sequential.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv_input = x
        layers = list(self)
        skip_next = False
        for i, layer in enumerate(layers):
            if skip_next:
                skip_next = False
                continue
            if isinstance(layer, nn.Conv2d):
                conv_input = x
            following = layers[i + 1] if i + 1 < len(layers) else None
            if isinstance(following, DyReLU) and following.can_fold(layer, x):
                # Inference: the eval-mode BatchNorm folds into the DY-ReLU's coefficients.
                x = following(x, conv_input, norm=layer)
                skip_next = True
            elif isinstance(layer, DyReLU):
                x = layer(x, conv_input)
            else:
                x = layer(x)
        return x


class ConvNormAct(HyperSequential):
    """Conv2d (no bias) -> norm -> optional activation; children named 0, 1, 2 (torchvision).

    Args:
        in_channels, out_channels: channel counts.
        kernel_size: square kernel; padding keeps the size at stride 1.
        stride: conv stride.
        groups: conv groups (in_channels for a depthwise conv).
        norm_layer: builds the norm from the channel count.
        activation: the activation module or None.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        groups: int = 1,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        activation: Optional[nn.Module] = None,
    ):
        padding = (kernel_size - 1) // 2
        layers = [
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride, padding, groups=groups, bias=False
            ),
            norm_layer(out_channels),
        ]
        if activation is not None:
            layers.append(activation)
        super().__init__(*layers)
        self.out_channels = out_channels


def init_weights(module: nn.Module) -> None:
    """torchvision's MobileNet initialisation; DY-ReLUs then re-initialise their own layers."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)
    for m in module.modules():
        if isinstance(m, DyReLU):
            m.reset_parameters()
