"""DY-ReLU inspection on a small randomly initialised DY-ReLU-C network."""

import json

import numpy as np
import pytest
import torch
from torch import nn

from dypose.models.dyrelu import DyReLU
from dypose.visualization.dyrelu_inspect import (
    default_layer_names,
    dyrelu_statistics,
    inspect_dyrelu,
    record_dyrelu,
    trace_dyrelus,
)


class _Block(nn.Module):
    """Expand 1x1 -> DY-ReLU -> depthwise 3x3 -> DY-ReLU -> project 1x1 -> K=1 DY-ReLU."""

    def __init__(self, channels: int):
        super().__init__()
        hidden = 2 * channels
        self.expand = nn.Conv2d(channels, hidden, 1)
        self.act1 = DyReLU(hidden, channels, reduction=2, variant="c")
        self.depthwise = nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden)
        self.act2 = DyReLU(hidden, hidden, reduction=2, variant="c")
        self.project = nn.Conv2d(hidden, channels, 1)
        self.act3 = DyReLU(channels, hidden, num_pieces=1, reduction=2, variant="c")

    def forward(self, x):
        h = self.act1(self.expand(x), x)
        h = self.act2(self.depthwise(h), h)
        return self.act3(self.project(h), h)


def _model(num_blocks: int = 3) -> nn.Module:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), *[_Block(4) for _ in range(num_blocks)])
    # Spread the hyper functions' outputs so that the statistics are not all 0 or 1.
    for module in model.modules():
        if isinstance(module, DyReLU):
            nn.init.normal_(module.fc2.bias, 0.0, 1.0)
    return model.eval()


def _batches():
    torch.manual_seed(1)
    return [torch.randn(2, 3, 8, 6), torch.randn(3, 3, 8, 6)]


def test_trace_finds_depthwise_dyrelus_in_forward_order():
    layers = trace_dyrelus(_model(), torch.zeros(1, 3, 8, 6))
    assert [t.name for t in layers][:3] == ["1.act1", "1.act2", "1.act3"]
    assert [t.name for t in layers if t.after_depthwise] == ["1.act2", "2.act2", "3.act2"]
    # Every other block, starting with block 1 (the paper's Fig. 3 choice).
    assert default_layer_names(layers) == ["1.act2", "3.act2"]


def test_statistics_match_an_independent_count():
    model = _model()
    recording = record_dyrelu(model, _batches(), points_per_image=50)

    # Independent: re-run with `record` and count unit by unit with Python loops.
    units = slope_hits = intercept_hits = 0
    for module in model.modules():
        if isinstance(module, DyReLU) and module.num_pieces == 2:
            module.record = True
    for batch in _batches():
        with torch.no_grad():
            model(batch)
        for module in model.modules():
            if isinstance(module, DyReLU) and module.num_pieces == 2:
                a, b = module.recorded["a"], module.recorded["b"]
                for n in range(a.shape[0]):
                    for c in range(a.shape[1]):
                        units += 1
                        slopes = a[n, c].tolist()
                        slope_hits += any(s < 0 or s > 1 for s in slopes)
                        intercept_hits += any(v > 0.05 for v in b[n, c].tolist())

    stats = dyrelu_statistics(recording.a, recording.b)
    assert stats["layers"] == 6  # two K=2 DY-ReLUs in each of 3 blocks
    assert stats["units"] == units == 5 * 8 * 6
    assert stats["slope_outside_0_1"] == pytest.approx(slope_hits / units)
    assert stats["intercept_above"] == pytest.approx(intercept_hits / units)
    assert 0 < stats["slope_outside_0_1"] < 1 and 0 < stats["intercept_above"] < 1


def test_recorded_samples_lie_on_the_dynamic_function():
    model = _model(num_blocks=1)
    recording = record_dyrelu(model, _batches()[:1], layer_names=["1.act2"], points_per_image=40)
    x, y = recording.samples["1.act2"]
    assert x.shape == y.shape == (2 * 40,)
    a, b = recording.a["1.act2"], recording.b["1.act2"]
    assert a.shape == (2, 8, 2)
    # Every output is pi * f(x), f(x) = max_k(a_k x + b_k) of some image and channel, with
    # 0 <= pi <= 1: it lies between min(0, min f(x)) and max(0, max f(x)).
    f = np.max(a[:, :, None, :] * x[None, None, :, None] + b[:, :, None, :], axis=3)
    assert np.all(y <= np.maximum(f.max(axis=(0, 1)), 0.0) + 1e-5)
    assert np.all(y >= np.minimum(f.min(axis=(0, 1)), 0.0) - 1e-5)
    assert set(recording.attention) == {"1.act1", "1.act2", "1.act3"}
    assert recording.attention["1.act2"].shape == (8, 6)


def test_inspect_writes_plots_and_stats(tmp_path):
    stats, written = inspect_dyrelu(_model(), _batches(), str(tmp_path), points_per_image=20)
    names = sorted(p.rsplit("/", 1)[1] for p in written)
    assert names == ["attention.png", "dyrelu_stats.json", "input_output.png",
                     "slope_difference.png"]  # fmt: skip
    saved = json.loads((tmp_path / "dyrelu_stats.json").read_text())
    assert saved["images"] == 5 and saved["units"] == stats["units"]
    assert set(saved["mean_slope_difference"]) == {"block 1", "block 2", "block 3"}


def test_unknown_layer_names_are_listed():
    with pytest.raises(ValueError, match=r"unknown DY-ReLU layer\(s\) \['nope'\].*1.act1"):
        record_dyrelu(_model(), _batches(), layer_names=["nope"])
    with pytest.raises(ValueError, match="no input batches"):
        record_dyrelu(_model(), [])


def test_default_layers_of_the_pose_network():
    from dypose.config import get_config
    from dypose.models import build_model

    opts = ["MODEL.BACKBONE.ACTIVATION.KIND", "dyrelu_c", "MODEL.HEAD.ACTIVATION.KIND",
            "dyrelu_c", "MODEL.IMAGE_SIZE", "[64, 96]", "MODEL.HEATMAP_SIZE", "[16, 24]",
            "MODEL.BACKBONE.WIDTH", "0.25"]  # fmt: skip
    model = build_model(get_config(None, opts)).eval()
    layers = trace_dyrelus(model, torch.zeros(1, 3, 96, 64))
    # MobileNetV2's 17 blocks and the head's 4 inverted residuals each have one depthwise
    # DY-ReLU; Fig. 3 takes blocks 1, 3, ..., 21.
    blocks = [t.name for t in layers if t.after_depthwise]
    assert len(blocks) == 21
    assert default_layer_names(layers) == blocks[::2] and len(blocks[::2]) == 11
    assert blocks[0].startswith("backbone.") and blocks[-1].startswith("head.")


@pytest.mark.parametrize("inplace", [False, True])
def test_samples_are_exact_input_output_pairs(inplace):
    # Variant B on one channel: y = max_k(a_k x + b_k) exactly, with a, b per image.
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1, groups=1),
                          DyReLU(1, variant="b", reduction=1, inplace=inplace)).eval()  # fmt: skip
    nn.init.normal_(model[1].fc2.bias, 0.0, 1.0)
    recording = record_dyrelu(model, [torch.randn(1, 1, 6, 5)], layer_names=["1"],
                              points_per_image=30)  # fmt: skip
    x, y = recording.samples["1"]
    a, b = recording.a["1"][0, 0], recording.b["1"][0, 0]
    assert np.allclose(y, np.maximum(a[0] * x + b[0], a[1] * x + b[1]), atol=1e-6)
    assert not np.allclose(x, y)


def test_slope_margin_ignores_tiny_residuals():
    a = {"l": np.array([[[1.001, -0.001], [1.2, 0.0], [0.5, -0.3]]])}  # 1 image, 3 channels
    b = {"l": np.array([[[0.0, 0.06], [0.0, 0.0], [0.04, 0.0]]])}
    assert dyrelu_statistics(a, b)["slope_outside_0_1"] == pytest.approx(1.0)
    assert dyrelu_statistics(a, b, slope_margin=0.05)["slope_outside_0_1"] == pytest.approx(2 / 3)
    assert dyrelu_statistics(a, b)["intercept_above"] == pytest.approx(1 / 3)
