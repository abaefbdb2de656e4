"""What DY-ReLU learned: input/output plots, slope differences and statistics.

Reproduces the analysis of the paper's section 5.2 and Fig. 3 for a pose model:
- Fig. 3 top: output against input of the DY-ReLU after the depthwise convolution in
  every other block, over a set of images, with the lines y = x and y = -x;
- Fig. 3 bottom: the slope difference |a^1 - a^2| per block;
- the shares of DY-ReLUs with a segment whose slope is negative or above 1 (paper: 51%)
  and with an intercept above 0.05 (paper: 37%), counted per channel per image on the
  channel-wise coefficients a, b (before variant C's spatial attention) of every
  DY-ReLU with K = 2.
"""

import json
import logging
import os
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from torch import nn

from dypose.models.dyrelu import DyReLU
from dypose.utils.io import atomic_path, atomic_write_text
from dypose.visualization.debug import denormalize_images

logger = logging.getLogger(__name__)

# Section 5.2's thresholds: a "non-ReLU" segment has slope < 0 or > 1; an intercept
# counts when it is above 0.05.
SLOPE_LOW, SLOPE_HIGH = 0.0, 1.0
INTERCEPT_THRESHOLD = 0.05
# Also reported: the slope share with this tolerance, which ignores slopes that
# differ from their initial 1 and 0 by tiny residuals.
CONTEXT_SLOPE_MARGIN = 0.05
# The statistics are defined for two-piece DY-ReLUs (the paper's K = 2).
STATS_NUM_PIECES = 2
# (input, output) pairs kept per image per plotted layer; enough to show the band.
POINTS_PER_IMAGE = 2000
# Subplots per row of the input/output figure and of the attention-map figure.
PANEL_COLUMNS = 4
ATTENTION_COLUMNS = 8
DPI = 110


@dataclass
class TracedDyReLU:
    """A DY-ReLU of a model, in forward order, with the convolution that feeds it."""

    name: str
    module: DyReLU
    after_depthwise: bool


@dataclass
class DyReLURecording:
    """Values recorded over a set of images.

    Attributes:
        layers: every DY-ReLU in forward order.
        blocks: names of the DY-ReLUs after a depthwise convolution (one per block).
        chosen: names of the layers whose input/output values were sampled.
        samples: name -> (inputs, outputs), float32 (M,) each.
        a, b: name -> (num_images, C', K) channel-wise coefficients (C' = 1 for variant A).
        attention: name -> (H, W) spatial attention of the first image (variant C only).
        first_crop: (H, W, 3) uint8 RGB first input image (ImageNet normalisation undone).
    """

    layers: List[TracedDyReLU]
    blocks: List[str]
    chosen: List[str]
    samples: Dict[str, Tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    a: Dict[str, np.ndarray] = field(default_factory=dict)
    b: Dict[str, np.ndarray] = field(default_factory=dict)
    attention: Dict[str, np.ndarray] = field(default_factory=dict)
    first_crop: Optional[np.ndarray] = None


def _is_depthwise(conv: nn.Conv2d) -> bool:
    return conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels


def trace_dyrelus(model: nn.Module, example: torch.Tensor) -> List[TracedDyReLU]:
    """Finds every DY-ReLU in forward order and whether a depthwise conv feeds it.

    One forward pass of `example` records the call order of convolutions and DY-ReLUs
    (convolutions inside a DY-ReLU, its attention branch, are ignored); a DY-ReLU is
    "after the depthwise convolution" when the last convolution run before it is
    depthwise. This does not depend on how the model names its modules.
    """
    names = {m: n for n, m in model.named_modules()}
    inner = {m for d in names if isinstance(d, DyReLU) for m in d.modules() if m is not d}
    events, handles = [], []

    def hook(module, args, output):
        events.append(module)

    for module in names:
        if isinstance(module, DyReLU) or (isinstance(module, nn.Conv2d) and module not in inner):
            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(example)
    finally:
        for handle in handles:
            handle.remove()

    traced, last_conv, seen = [], None, set()
    for module in events:
        if isinstance(module, nn.Conv2d):
            last_conv = module
        elif module not in seen:
            seen.add(module)
            depthwise = last_conv is not None and _is_depthwise(last_conv)
            traced.append(TracedDyReLU(names[module], module, depthwise))
    return traced


def default_layer_names(layers: Sequence[TracedDyReLU]) -> List[str]:
    """Fig. 3's choice: the DY-ReLU after the depthwise conv in blocks 1, 3, 5, ..."""
    blocks = [t.name for t in layers if t.after_depthwise]
    return blocks[::2]


def _choose(layers: Sequence[TracedDyReLU], layer_names: Optional[Sequence[str]]) -> List[str]:
    if not layer_names:
        chosen = default_layer_names(layers)
        if not chosen:
            raise ValueError(
                "the model has no DY-ReLU after a depthwise convolution; pass layer names "
                "(MODEL.*.ACTIVATION.KIND must be dyrelu_a/b/c)"
            )
        return chosen
    known = [t.name for t in layers]
    missing = [n for n in layer_names if n not in known]
    if missing:
        raise ValueError(
            f"unknown DY-ReLU layer(s) {missing}; the model's DY-ReLUs are: "
            f"{', '.join(known[:8])}{' ...' if len(known) > 8 else ''}"
        )
    return list(layer_names)


def _sampler_hooks(module: DyReLU, store: list, points: int, generator: torch.Generator):
    """Hooks sampling (input, output) pairs at the same random positions of each image.

    The input is read in a pre-hook: DY-ReLUs built with inplace=True overwrite their
    input with the output at inference, so a forward hook would see the output twice.
    """
    pending = {}

    def before(module, args):
        x = args[0].detach().flatten(1)
        index = torch.randint(0, x.shape[1], (x.shape[0], points), generator=generator)
        pending["index"] = index.to(x.device)
        pending["x"] = x.gather(1, pending["index"]).float().cpu().numpy()

    def after(module, args, output):
        y = output.detach().flatten(1).gather(1, pending["index"]).float().cpu().numpy()
        store.append((pending.pop("x"), y))

    return [module.register_forward_pre_hook(before), module.register_forward_hook(after)]


def record_dyrelu(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    layer_names: Optional[Sequence[str]] = None,
    points_per_image: int = POINTS_PER_IMAGE,
    seed: int = 0,
) -> DyReLURecording:
    """Runs the model over batches and records what its DY-ReLUs do.

    Args:
        model: a pose model (eval mode is the caller's choice).
        batches: (N, 3, H, W) normalised input tensors on the model's device.
        layer_names: DY-ReLUs (module names) whose input/output pairs are sampled;
            None takes `default_layer_names`.
        points_per_image: (input, output) pairs sampled per image and chosen layer.
        seed: seed of the sampling.

    Returns:
        The DyReLURecording; coefficients are recorded for every DY-ReLU.
    """
    iterator = iter(batches)
    first = next(iterator, None)
    if first is None:
        raise ValueError("record_dyrelu: no input batches (no images or no boxes)")
    layers = trace_dyrelus(model, first[:1])
    chosen = _choose(layers, layer_names)
    recording = DyReLURecording(layers, [t.name for t in layers if t.after_depthwise], chosen)
    generator = torch.Generator().manual_seed(seed)
    pairs, coeffs, handles = {}, {t.name: [] for t in layers}, []
    modules = {t.name: t.module for t in layers}
    for name in chosen:
        pairs[name] = []
        handles += _sampler_hooks(modules[name], pairs[name], points_per_image, generator)
    previous = {name: m.record for name, m in modules.items()}
    try:
        for module in modules.values():
            module.record = True
        _run_batch(model, first, modules, coeffs, recording, keep_attention=True)
        recording.first_crop = denormalize_images(first[:1].cpu())[0]
        for batch in iterator:
            _run_batch(model, batch, modules, coeffs, recording, False)
    finally:
        for handle in handles:
            handle.remove()
        for name, module in modules.items():
            module.record = previous[name]
            module.recorded = None

    for name, chunks in pairs.items():
        recording.samples[name] = tuple(
            np.concatenate([c[i] for c in chunks]).ravel() for i in (0, 1)
        )
    for name, chunks in coeffs.items():
        recording.a[name] = np.concatenate([c[0] for c in chunks])
        recording.b[name] = np.concatenate([c[1] for c in chunks])
    return recording


def _run_batch(model, batch, modules, coeffs, recording, keep_attention: bool) -> None:
    with torch.no_grad():
        model(batch)
    for name, module in modules.items():
        rec = module.recorded
        coeffs[name].append((rec["a"].float().cpu().numpy(), rec["b"].float().cpu().numpy()))
        if keep_attention and rec["attention"] is not None:
            recording.attention[name] = rec["attention"][0, 0].float().cpu().numpy()


def dyrelu_statistics(
    a: Dict[str, np.ndarray],
    b: Dict[str, np.ndarray],
    num_pieces: int = STATS_NUM_PIECES,
    intercept_threshold: float = INTERCEPT_THRESHOLD,
    slope_margin: float = 0.0,
) -> dict:
    """Section 5.2's shares, counted per channel per image over K = `num_pieces` layers.

    Args:
        a, b: name -> (num_images, C', K) coefficients; layers with another K are skipped.
        num_pieces: K of the layers counted.
        intercept_threshold: an intercept counts when above this (paper: 0.05).
        slope_margin: a slope counts when below -margin or above 1 + margin (paper: 0;
            slopes start at exactly 1 and 0, so with margin 0 any small residual counts).

    Returns:
        {"layers": L, "units": images x channels counted, "slope_outside_0_1": share of
        units with a segment of slope < 0 or > 1, "intercept_above": share with a
        segment of intercept > intercept_threshold}.
    """
    units = slope_hits = intercept_hits = layers = 0
    for name, slopes in a.items():
        if slopes.shape[-1] != num_pieces:
            continue
        layers += 1
        units += slopes.shape[0] * slopes.shape[1]
        outside = (slopes < SLOPE_LOW - slope_margin) | (slopes > SLOPE_HIGH + slope_margin)
        slope_hits += int(outside.any(axis=-1).sum())
        intercept_hits += int((b[name] > intercept_threshold).any(axis=-1).sum())
    return {
        "layers": layers,
        "units": units,
        "slope_outside_0_1": slope_hits / units if units else float("nan"),
        "intercept_above": intercept_hits / units if units else float("nan"),
        "intercept_threshold": intercept_threshold,
    }


def slope_differences(recording: DyReLURecording) -> Dict[str, np.ndarray]:
    """Block DY-ReLU name -> |a^1 - a^2| over images and channels (K = 2 blocks only)."""
    return {
        name: np.abs(recording.a[name][..., 0] - recording.a[name][..., 1]).ravel()
        for name in recording.blocks
        if recording.a[name].shape[-1] == 2
    }


def _save(fig: Figure, path: str, tight: bool = True) -> str:
    FigureCanvasAgg(fig)
    if tight:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI)
    return path


def _panels(count: int, panel_size: float = 2.6, columns: int = PANEL_COLUMNS):
    columns = min(columns, max(count, 1))
    rows = -(-max(count, 1) // columns)
    fig = Figure(figsize=(panel_size * columns, panel_size * rows))
    return fig, [fig.add_subplot(rows, columns, i + 1) for i in range(count)]


def _label(recording: DyReLURecording, name: str) -> str:
    if name in recording.blocks:
        return f"block {recording.blocks.index(name) + 1}"
    return name


def _short_name(name: str) -> str:
    """'backbone.features.3.conv.1.2' -> 'b:3.conv.1.2': fits a small panel title."""
    parts = name.split(".")
    return f"{parts[0][:1]}:{'.'.join(parts[2:])}" if len(parts) > 2 else name


def plot_input_output(recording: DyReLURecording, path: str) -> str:
    """Fig. 3 top: output against input per chosen layer, with y = x and y = -x in red."""
    fig, axes = _panels(len(recording.chosen))
    for ax, name in zip(axes, recording.chosen):
        x, y = recording.samples[name]
        ax.scatter(x, y, s=1.0, alpha=0.3, color="tab:blue", rasterized=True, linewidths=0)
        lim = float(np.percentile(np.abs(x), 99.5)) if x.size else 1.0
        line = np.array([-lim, lim])
        ax.plot(line, line, color="red", linewidth=0.8)
        ax.plot(line, -line, color="red", linewidth=0.8)
        # Square axes, as in Fig. 3: a few extreme outputs would otherwise set the scale.
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_title(_label(recording, name), fontsize=9)
        ax.set_xlabel("input x", fontsize=8)
        ax.set_ylabel("output y", fontsize=8)
    return _save(fig, path)


def plot_slope_differences(recording: DyReLURecording, path: str) -> Optional[str]:
    """Fig. 3 bottom: distribution of |a^1 - a^2| per block (box: quartiles, whiskers 5-95%)."""
    diffs = slope_differences(recording)
    if not diffs:
        return None
    fig = Figure(figsize=(max(6.0, 0.35 * len(diffs)), 3.5))
    ax = fig.add_subplot(1, 1, 1)
    ax.boxplot(list(diffs.values()), whis=(5, 95), showfliers=False)
    ax.plot(
        range(1, len(diffs) + 1),
        [d.mean() for d in diffs.values()],
        "o-",
        markersize=3,
        color="tab:red",
        label="mean",
    )
    ax.set_xticks(range(1, len(diffs) + 1))
    ax.set_xticklabels([str(recording.blocks.index(n) + 1) for n in diffs], fontsize=7)
    ax.set_xlabel("block")
    ax.set_ylabel("|a^1 - a^2|")
    ax.legend()
    return _save(fig, path)


def plot_attention_maps(recording: DyReLURecording, path: str) -> Optional[str]:
    """Variant C's spatial attention pi (Eq. (4)) of the first crop, one panel per layer.

    The first panel shows the crop itself; every map shares one colour scale, 0 to 1
    (Eq. (4) clips pi at 1; its mean before clipping is 1 / GAMMA_DIVISOR).
    """
    if not recording.attention:
        return None
    count = len(recording.attention) + (recording.first_crop is not None)
    fig, axes = _panels(count, panel_size=1.5, columns=ATTENTION_COLUMNS)
    if recording.first_crop is not None:
        axes[0].imshow(recording.first_crop)
        axes[0].set_title("input crop", fontsize=6)
    shown = None
    for ax, (name, attention) in zip(
        axes[count - len(recording.attention) :], recording.attention.items()
    ):
        shown = ax.imshow(attention, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_title(_short_name(name), fontsize=6)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(shown, ax=axes, fraction=0.02, label="attention")
    return _save(fig, path, tight=False)


def inspect_dyrelu(
    model: nn.Module,
    batches: Iterable[torch.Tensor],
    out_dir: str,
    layer_names: Optional[Sequence[str]] = None,
    points_per_image: int = POINTS_PER_IMAGE,
) -> Tuple[dict, List[str]]:
    """Records DY-ReLUs over the batches and writes the Fig. 3 plots and statistics.

    Files in out_dir: input_output.png, slope_difference.png, attention.png (variant
    C), dyrelu_stats.json.

    Returns:
        (statistics from `dyrelu_statistics` plus "images" (crops), the slope share
        with CONTEXT_SLOPE_MARGIN and the mean slope difference per block, paths written).
    """
    recording = record_dyrelu(model, batches, layer_names, points_per_image)
    stats = dyrelu_statistics(recording.a, recording.b)
    first = next(iter(recording.a.values()))
    stats["images"] = int(first.shape[0])
    margin = dyrelu_statistics(recording.a, recording.b, slope_margin=CONTEXT_SLOPE_MARGIN)
    stats["slope_margin"] = CONTEXT_SLOPE_MARGIN
    stats["slope_outside_with_margin"] = margin["slope_outside_0_1"]
    stats["mean_slope_difference"] = {
        _label(recording, n): float(d.mean()) for n, d in slope_differences(recording).items()
    }
    written = [plot_input_output(recording, os.path.join(out_dir, "input_output.png"))]
    written.append(plot_slope_differences(recording, os.path.join(out_dir, "slope_difference.png")))
    written.append(plot_attention_maps(recording, os.path.join(out_dir, "attention.png")))
    stats_path = os.path.join(out_dir, "dyrelu_stats.json")
    # Strict JSON: no NaN (a model without K = 2 DY-ReLUs has no shares).
    plain = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in stats.items()}
    atomic_write_text(stats_path, json.dumps(plain, indent=2) + "\n")
    written = [p for p in written if p] + [stats_path]
    logger.info(
        "%d crops, %d DY-ReLU units (K=2): %.1f%% with a slope < 0 or > 1, %.1f%% with an "
        "intercept > %.2f", stats["images"], stats["units"], 100 * stats["slope_outside_0_1"],
        100 * stats["intercept_above"], stats["intercept_threshold"],
    )  # fmt: skip
    return stats, written
