"""The pose network of the paper (section 5.4): a MobileNet backbone and the upsampling head."""

import logging

import torch
from torch import nn
from yacs.config import CfgNode

from dypose.models import mobilenetv2, mobilenetv3
from dypose.models.blocks import ActivationSpec, init_weights
from dypose.models.dyrelu import DyReLU
from dypose.models.head import DEFAULT_REDUCTION as HEAD_REDUCTION
from dypose.models.head import PoseHead
from dypose.models.pretrained import load_torchvision_backbone

logger = logging.getLogger(__name__)

# Input pixels per backbone output pixel, and per heatmap pixel (three x2 upsamplings).
BACKBONE_STRIDE = 32
HEATMAP_STRIDE = 4

# Backbone name -> (builder(width, act), the paper's reduction R for its DY-ReLUs).
BACKBONES = {
    "mobilenetv2": (
        lambda width, act: mobilenetv2.MobileNetV2Backbone(width, act),
        mobilenetv2.DEFAULT_REDUCTION,
    ),
    "mobilenetv3_large": (
        lambda width, act: mobilenetv3.MobileNetV3Backbone("large", width, act),
        mobilenetv3.DEFAULT_REDUCTION,
    ),
    "mobilenetv3_small": (
        lambda width, act: mobilenetv3.MobileNetV3Backbone("small", width, act),
        mobilenetv3.DEFAULT_REDUCTION,
    ),
}


class PoseMobileNet(nn.Module):
    """Backbone + head: (N, 3, H, W) normalised RGB -> (N, K, H/4, W/4) heatmaps."""

    def __init__(self, backbone: nn.Module, head: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


def activation_spec(act_cfg: CfgNode, dyrelu_cfg: CfgNode, paper_reduction: int) -> ActivationSpec:
    """The ActivationSpec of one network part from MODEL.<PART>.ACTIVATION and MODEL.DYRELU.

    R = 0 takes `paper_reduction`; a DY-ReLU with K pieces uses the first K init values.
    """
    return ActivationSpec(
        kind=act_cfg.KIND,
        num_pieces=int(act_cfg.K),
        reduction=int(act_cfg.R) or paper_reduction,
        projection=bool(act_cfg.PROJECTION_DYRELU),
        lambda_a=float(dyrelu_cfg.LAMBDA_A),
        lambda_b=float(dyrelu_cfg.LAMBDA_B),
        init_alpha=tuple(float(v) for v in dyrelu_cfg.INIT_ALPHA),
        init_beta=tuple(float(v) for v in dyrelu_cfg.INIT_BETA),
        tau=float(dyrelu_cfg.TAU),
        gamma_divisor=float(dyrelu_cfg.GAMMA_DIVISOR),
    )


def _check_sizes(cfg: CfgNode) -> None:
    width, height = cfg.MODEL.IMAGE_SIZE
    if width % BACKBONE_STRIDE or height % BACKBONE_STRIDE:
        raise ValueError(
            f"MODEL.IMAGE_SIZE = {list(cfg.MODEL.IMAGE_SIZE)}: width and height must be "
            f"multiples of {BACKBONE_STRIDE} (the backbone's stride), e.g. [192, 256]"
        )
    expected = [width // HEATMAP_STRIDE, height // HEATMAP_STRIDE]
    if list(cfg.MODEL.HEATMAP_SIZE) != expected:
        raise ValueError(
            f"MODEL.HEATMAP_SIZE = {list(cfg.MODEL.HEATMAP_SIZE)} does not match MODEL.IMAGE_SIZE "
            f"= {list(cfg.MODEL.IMAGE_SIZE)}: the network's stride is {HEATMAP_STRIDE}; set "
            f"MODEL.HEATMAP_SIZE to {expected}"
        )


def build_model(cfg: CfgNode) -> nn.Module:
    """Builds the pose network an experiment config describes.

    Args:
        cfg: config from dypose.config.get_config (MODEL.BACKBONE, MODEL.HEAD, MODEL.DYRELU,
            MODEL.NUM_JOINTS, MODEL.IMAGE_SIZE, MODEL.HEATMAP_SIZE, MODEL.PRETRAINED,
            MODEL.COMPILE).

    Returns:
        A PoseMobileNet: (N, 3, H, W) normalised RGB -> (N, NUM_JOINTS, H/4, W/4) heatmaps,
        compiled in place (state_dict keys unchanged) when MODEL.COMPILE is set.

    Raises:
        ValueError: unknown backbone, sizes that do not fit the stride, a pretrained file
            that does not match.
    """
    model_cfg = cfg.MODEL
    name = model_cfg.BACKBONE.NAME
    if name not in BACKBONES:
        raise ValueError(
            f"MODEL.BACKBONE.NAME = {name!r} is not valid; choose one of: {', '.join(BACKBONES)}"
        )
    _check_sizes(cfg)
    build_backbone, backbone_reduction = BACKBONES[name]

    backbone_act = activation_spec(
        model_cfg.BACKBONE.ACTIVATION, model_cfg.DYRELU, backbone_reduction
    )
    head_act = activation_spec(model_cfg.HEAD.ACTIVATION, model_cfg.DYRELU, HEAD_REDUCTION)
    backbone = build_backbone(float(model_cfg.BACKBONE.WIDTH), backbone_act)
    head = PoseHead(
        backbone.out_channels,
        int(model_cfg.NUM_JOINTS),
        tuple(model_cfg.HEAD.CHANNELS),
        model_cfg.HEAD.EXPANSION,
        head_act,
    )
    model = PoseMobileNet(backbone, head)
    init_weights(model)
    head.init_final_layer()

    if model_cfg.PRETRAINED:
        if backbone_act.dynamic:
            raise ValueError(
                f"MODEL.PRETRAINED = {model_cfg.PRETRAINED!r}: torchvision checkpoints fit the "
                f"static backbone only; set MODEL.BACKBONE.ACTIVATION.KIND static or "
                f"MODEL.PRETRAINED ''"
            )
        load_torchvision_backbone(backbone, model_cfg.PRETRAINED)
    if model_cfg.COMPILE:
        # In place, so that state_dict keys keep their names (no "_orig_mod." prefix).
        model.compile()
    return model


def dyrelu_modules(model: nn.Module) -> list:
    """All DY-ReLUs of a model as (qualified name, module) pairs, in forward order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, DyReLU)]
