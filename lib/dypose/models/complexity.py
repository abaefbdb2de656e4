"""Parameter and multiply-add counts with the paper's convention (DESIGN.md, Counting).

Parameters: all, BatchNorm included. Multiply-adds: every convolution and linear layer
(hyper-function and SE FCs included), counted by torch.utils.flop_counter as FLOPs / 2, plus
K x C x H x W for each DY-ReLU's piecewise function. Not counted: variant C's spatial-attention
conv, pooling, softmax, BN, residual adds, upsampling.
"""

import os
from collections import namedtuple
from typing import Optional, Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from dypose.models.dyrelu import DyReLU

# One flop-counter "FLOP" is a multiply or an add; a multiply-add is two.
FLOPS_PER_MADD = 2

# Table 10 of the paper: (experiment file under experiments/coco, backbone, activation,
# parameters M, multiply-adds M).
PAPER_TABLE10 = (
    ("mobilenetv2/mobilenetv2_x1.0_static_256x192.yaml", "MobileNetV2 x1.0", "ReLU", 3.4, 993.7),
    (
        "mobilenetv2/mobilenetv2_x1.0_dyrelu_c_256x192.yaml",
        "MobileNetV2 x1.0",
        "DY-ReLU-C",
        9.0,
        1026.9,
    ),
    ("mobilenetv2/mobilenetv2_x0.5_static_256x192.yaml", "MobileNetV2 x0.5", "ReLU", 1.9, 794.8),
    (
        "mobilenetv2/mobilenetv2_x0.5_dyrelu_c_256x192.yaml",
        "MobileNetV2 x0.5",
        "DY-ReLU-C",
        4.6,
        820.3,
    ),
    (
        "mobilenetv3/mobilenetv3_large_static_256x192.yaml",
        "MobileNetV3 Large",
        "ReLU/SE/HS",
        4.1,
        896.4,
    ),
    (
        "mobilenetv3/mobilenetv3_large_dyrelu_c_256x192.yaml",
        "MobileNetV3 Large",
        "DY-ReLU-C",
        10.1,
        926.6,
    ),
    (
        "mobilenetv3/mobilenetv3_small_static_256x192.yaml",
        "MobileNetV3 Small",
        "ReLU/SE/HS",
        2.1,
        726.9,
    ),
    (
        "mobilenetv3/mobilenetv3_small_dyrelu_c_256x192.yaml",
        "MobileNetV3 Small",
        "DY-ReLU-C",
        4.8,
        747.9,
    ),
)

Complexity = namedtuple("Complexity", ["params", "madds", "dyrelu_madds"])


def count_parameters(model: nn.Module) -> int:
    """All parameters (BatchNorm's affine ones included; buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_complexity(model: nn.Module, image_size: Sequence[int]) -> Complexity:
    """Counts parameters and multiply-adds for one (1, 3, H, W) input.

    Args:
        model: the network (any mode; it is run in eval mode without gradients, and the
            original mode restored).
        image_size: [W, H] in pixels (MODEL.IMAGE_SIZE order).

    Returns:
        Complexity(params, madds, dyrelu_madds): madds includes dyrelu_madds, the piecewise
        functions' K x C x H x W (hyper-function FCs are in madds via the flop counter).
    """
    width, height = image_size
    shapes = []  # (K, variant, C, H, W) per DY-ReLU call

    def record(module, args, _output):
        _, c, h, w = args[0].shape
        shapes.append((module.num_pieces, module.variant, c, h, w))

    hooks = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, DyReLU)]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.zeros(1, 3, height, width))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)

    conv_linear = counter.get_total_flops() // FLOPS_PER_MADD
    piecewise = sum(k * c * h * w for k, _, c, h, w in shapes)
    # The spatial-attention conv (C -> 1, 1x1) is outside the convention: take it back out.
    attention = sum(c * h * w for _, variant, c, h, w in shapes if variant == "c")
    return Complexity(count_parameters(model), conv_linear - attention + piecewise, piecewise)


def _relative(value: float, reference: float) -> str:
    return f"{100.0 * (value - reference) / reference:+.1f}%"


def paper_table(experiments_dir: Optional[str] = None) -> str:
    """Counts the eight Table 10 models from their experiment files, beside the paper's.

    Args:
        experiments_dir: the repository's experiments/coco folder (default: found from the
            working directory).

    Returns:
        A text table: backbone, activation, params M (paper, error), MAdds M (paper, error).
    """
    from dypose.config import get_config
    from dypose.models.pose_net import build_model

    experiments_dir = experiments_dir or os.path.join("experiments", "coco")
    lines = [
        f"{'backbone':<18} {'activation':<11} {'params M':>8} {'paper':>6} {'error':>6}   "
        f"{'MAdds M':>8} {'paper':>7} {'error':>6}"
    ]
    for path, backbone, activation, paper_params, paper_madds in PAPER_TABLE10:
        cfg = get_config(os.path.join(experiments_dir, path))
        counts = count_complexity(build_model(cfg), cfg.MODEL.IMAGE_SIZE)
        params, madds = counts.params / 1e6, counts.madds / 1e6
        lines.append(
            f"{backbone:<18} {activation:<11} {params:8.2f} {paper_params:6.1f} "
            f"{_relative(params, paper_params):>6}   {madds:8.1f} {paper_madds:7.1f} "
            f"{_relative(madds, paper_madds):>6}"
        )
    return "\n".join(lines)
