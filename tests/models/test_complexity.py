"""Parameter and multiply-add counting (DESIGN.md's convention) and Table 10."""

import os

import pytest
import torch
from torch import nn

from dypose.models.blocks import HyperSequential
from dypose.models.complexity import PAPER_TABLE10, count_complexity, paper_table
from dypose.models.dyrelu import DyReLU

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# DESIGN.md's figures for the spec (params M, MAdds M), Table 10's order.
DESIGN_COUNTS = [
    (3.47, 994.1),
    (9.20, 1024.9),
    (1.93, 794.6),
    (4.62, 817.1),
    (4.15, 898.7),
    (10.12, 925.8),
    (2.03, 728.6),
    (4.82, 747.1),
]


def test_counts_of_a_small_network_by_hand():
    c_in, c_out, k, r, size = 3, 8, 2, 1, 6
    model = HyperSequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        DyReLU(c_out, hyper_channels=c_in, num_pieces=k, reduction=r, variant="c"),
    )
    counts = count_complexity(model, [size, size])
    hidden = c_in // r
    conv = c_out * c_in * 9 * size * size
    fcs = c_in * hidden + hidden * 2 * k * c_out
    piecewise = k * c_out * size * size  # the attention conv is not counted
    assert counts.madds == conv + fcs + piecewise
    assert counts.dyrelu_madds == piecewise
    params = c_out * c_in * 9 + (c_in * hidden + hidden) + (hidden * 2 * k * c_out + 2 * k * c_out)
    assert counts.params == params + c_out + 1  # + the attention conv's weights and bias


def test_paper_table_rows_match_design_and_paper():
    table = paper_table(os.path.join(REPO, "experiments", "coco"))
    rows = table.splitlines()[1:]
    assert len(rows) == len(PAPER_TABLE10) == len(DESIGN_COUNTS)
    for row, (_, _, _, paper_params, paper_madds), (params, madds) in zip(
        rows, PAPER_TABLE10, DESIGN_COUNTS
    ):
        fields = row.split()
        ours_params, ours_madds = float(fields[-6]), float(fields[-3])
        assert ours_params == pytest.approx(params, abs=0.005)
        assert ours_madds == pytest.approx(madds, abs=0.05)
        assert abs(ours_params / paper_params - 1) < 0.035
        assert abs(ours_madds / paper_madds - 1) < 0.01


def test_count_leaves_mode_unchanged():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).train()
    assert count_complexity(model, [8, 8]).madds == 3 * 4 * 64
    assert model.training
    assert torch.is_grad_enabled()
