"""build_model: every backbone x activation, sizes, DY-ReLU listing and recording."""

import pytest
import torch

from dypose.config import get_config
from dypose.models import DyReLU, build_model, dyrelu_modules

BACKBONES = ("mobilenetv2", "mobilenetv3_large", "mobilenetv3_small")
KINDS = ("static", "dyrelu_a", "dyrelu_b", "dyrelu_c")
# A small input keeps the grid fast: 64x96 (W x H) -> 16x24 heatmaps.
SMALL = ["MODEL.IMAGE_SIZE", "[64, 96]", "MODEL.HEATMAP_SIZE", "[16, 24]"]


def _cfg(backbone="mobilenetv2", kind="static", extra=()):
    opts = [
        "MODEL.BACKBONE.NAME",
        backbone,
        "MODEL.BACKBONE.ACTIVATION.KIND",
        kind,
        "MODEL.HEAD.ACTIVATION.KIND",
        kind,
        *SMALL,
        *extra,
    ]
    return get_config(None, opts)


@pytest.mark.parametrize("backbone", BACKBONES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_combination_runs_in_train_and_eval(backbone, kind):
    cfg = _cfg(backbone, kind, ["MODEL.BACKBONE.WIDTH", "0.5"] if backbone == "mobilenetv2" else [])
    model = build_model(cfg)
    assert (len(dyrelu_modules(model)) > 0) == (kind != "static")
    for batch in (1, 2):
        images = torch.randn(batch, 3, 96, 64)
        model.train()
        heatmaps = model(images)
        assert heatmaps.shape == (batch, 17, 24, 16)
        heatmaps.mean().backward()
        assert torch.isfinite(model.head.final_layer.weight.grad).all()
        model.zero_grad()
        model.eval()
        with torch.no_grad():
            assert model(images).shape == (batch, 17, 24, 16)


def test_paper_input_gives_64x48_heatmaps():
    cfg = get_config(None, ["MODEL.BACKBONE.NAME", "mobilenetv3_small"])
    model = build_model(cfg).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 256, 192)).shape == (1, 17, 64, 48)


def test_head_dyrelu_wiring_and_reduction():
    model = build_model(_cfg("mobilenetv3_small", "dyrelu_c"))
    head = [m for name, m in dyrelu_modules(model) if name.startswith("head.")]
    # Step 1 plus four blocks of (expand, depthwise, projection).
    assert len(head) == 1 + 4 * 3
    first = head[0]  # after the 1x1 conv 576 -> 192, pooling the conv's 576-channel input
    assert (first.fc1.in_features, first.fc1.out_features, first.channels) == (576, 36, 192)
    assert all(m.variant == "c" for m in head)
    assert [m.num_pieces for m in head[1:4]] == [2, 2, 1]


def test_options_reach_the_modules():
    cfg = _cfg(
        "mobilenetv2",
        "dyrelu_b",
        [
            "MODEL.BACKBONE.ACTIVATION.K",
            "3",
            "MODEL.BACKBONE.ACTIVATION.R",
            "4",
            "MODEL.HEAD.ACTIVATION.PROJECTION_DYRELU",
            "False",
            "MODEL.DYRELU.INIT_ALPHA",
            "[1.0, 0.5, 0.25]",
            "MODEL.DYRELU.INIT_BETA",
            "[0.0, 0.0, 0.1]",
            "MODEL.DYRELU.LAMBDA_A",
            "2.0",
        ],
    )
    modules = dict(dyrelu_modules(build_model(cfg)))
    expand = modules["backbone.features.2.conv.0.2"]
    assert expand.num_pieces == 3 and expand.lambda_a == 2.0
    assert expand.fc1.out_features == 16 // 4
    torch.testing.assert_close(expand.alpha.flatten(), torch.tensor([1.0, 0.5, 0.25]))
    assert not any(m.num_pieces == 1 for name, m in modules.items() if name.startswith("head"))
    assert modules["head.layers.1.2"].num_pieces == 2  # the head keeps K = 2


def test_dyrelu_modules_are_in_forward_order_and_record():
    model = build_model(_cfg("mobilenetv3_small", "dyrelu_c")).eval()
    listed = dyrelu_modules(model)
    called = []
    for name, module in listed:
        module.record = True
        module.register_forward_hook(lambda m, *_, name=name: called.append(name))
    with torch.no_grad():
        model(torch.randn(2, 3, 96, 64))
    assert called == [name for name, _ in listed]
    recorded = listed[-1][1].recorded  # the head's last projection DY-ReLU, K = 1
    assert recorded["a"].shape == (2, 16, 1) and recorded["attention"].shape == (2, 1, 24, 16)


def test_sizes_are_checked():
    with pytest.raises(ValueError, match="multiples of 32"):
        build_model(get_config(None, ["MODEL.IMAGE_SIZE", "[100, 96]"]))
    with pytest.raises(ValueError, match=r"set MODEL.HEATMAP_SIZE to \[16, 24\]"):
        build_model(get_config(None, ["MODEL.IMAGE_SIZE", "[64, 96]"]))


def test_compile_keeps_state_dict_names():
    plain = build_model(_cfg())
    compiled = build_model(_cfg(extra=["MODEL.COMPILE", "True"]))
    assert list(compiled.state_dict()) == list(plain.state_dict())


def test_model_seeded_init_is_reproducible_and_dyrelu_starts_as_relu():
    torch.manual_seed(0)
    model = build_model(_cfg("mobilenetv2", "dyrelu_b"))
    dyrelu = next(m for m in model.modules() if isinstance(m, DyReLU))
    # FC weights start small (N(0, 0.01)), so the coefficients start near alpha, beta.
    a, b = dyrelu.coefficients(torch.randn(2, dyrelu.fc1.in_features, 4, 4))
    assert (a[:, 0] - 1).abs().max() < 0.05 and a[:, 1].abs().max() < 0.05
    torch.manual_seed(0)
    again = build_model(_cfg("mobilenetv2", "dyrelu_b"))
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)


@pytest.mark.slow
def test_compiled_model_matches_eager():
    torch.manual_seed(0)
    eager = build_model(_cfg("mobilenetv3_small", "dyrelu_c"))
    compiled = build_model(_cfg("mobilenetv3_small", "dyrelu_c", ["MODEL.COMPILE", "True"]))
    compiled.load_state_dict(eager.state_dict())
    images = torch.randn(2, 3, 96, 64)
    for model in (eager, compiled):
        model.eval()
    with torch.no_grad():
        torch.testing.assert_close(compiled(images), eager(images), atol=1e-4, rtol=1e-4)
    for model in (eager, compiled):
        model.train()
        model(images).square().mean().backward()
    for (name, p), q in zip(eager.named_parameters(), compiled.parameters()):
        torch.testing.assert_close(q.grad, p.grad, atol=1e-4, rtol=1e-3, msg=name)


@pytest.mark.parametrize("kind", ["dyrelu_b", "dyrelu_c"])
def test_inference_fast_path_matches_autograd_path(kind):
    torch.manual_seed(0)
    model = build_model(_cfg("mobilenetv3_small", kind))
    with torch.no_grad():  # realistic BatchNorm statistics
        model(torch.randn(4, 3, 96, 64))
    model.eval()
    images = torch.randn(2, 3, 96, 64)
    with torch.no_grad():
        fast = model(images)  # BatchNorm folded, in place
    reference = model(images).detach()  # gradient-tracking path: no folding, no in-place
    torch.testing.assert_close(fast, reference, atol=1e-6 * reference.abs().max(), rtol=1e-4)
