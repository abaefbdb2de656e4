"""Networks: DY-ReLU, MobileNetV2/V3 backbones, the upsampling head and the pose model."""

from dypose.models.blocks import ActivationSpec
from dypose.models.dyrelu import DyReLU
from dypose.models.pose_net import PoseMobileNet, activation_spec, build_model, dyrelu_modules

__all__ = [
    "ActivationSpec",
    "DyReLU",
    "PoseMobileNet",
    "activation_spec",
    "build_model",
    "dyrelu_modules",
]
