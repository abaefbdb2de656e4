"""DY-ReLU: paper Table 1's special cases, Eq. (3)/(4) ranges, shapes and gradients."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.ops import SqueezeExcitation

from dypose.models.dyrelu import DyReLU, dynamic_piecewise


def _randomise(module: nn.Module, std: float = 0.5) -> None:
    """Random hyper-function weights, so that special cases cannot pass by accident."""
    torch.manual_seed(1)
    for p in module.parameters():
        nn.init.normal_(p, 0.0, std)


def _reference(module: DyReLU, x, hyper):
    """Eq. (1), (3), (4) written out with stacked pieces and a real 1x1 convolution."""
    k = module.num_pieces
    pooled = hyper.mean((2, 3))
    theta = 2 * torch.sigmoid(module.fc2(torch.relu(module.fc1(pooled)))) - 1
    theta = theta.view(x.shape[0], 2 * k, -1)
    a = module.alpha + module.lambda_a * theta[:, :k]
    b = module.beta + module.lambda_b * theta[:, k:]
    pieces = torch.stack([a[:, i, :, None, None] * x + b[:, i, :, None, None] for i in range(k)])
    if module.variant != "c":
        return pieces.max(0).values
    n, _, h, w = x.shape
    z = module.spatial_attention(x).view(n, h * w)
    gamma = h * w / module.gamma_divisor
    pi = torch.clamp(gamma * torch.softmax(z / module.tau, 1), max=1).view(n, 1, h, w)
    # Eq. (4) scales each coefficient by pi before the maximum.
    return (
        torch.stack(
            [pi * a[:, i, :, None, None] * x + pi * b[:, i, :, None, None] for i in range(k)]
        )
        .max(0)
        .values
    )


@pytest.mark.parametrize("variant", ["a", "b"])
def test_relu_special_case(variant):
    m = DyReLU(6, lambda_a=0.0, lambda_b=0.0, variant=variant, reduction=2)
    _randomise(m)
    x = torch.randn(3, 6, 5, 4)
    torch.testing.assert_close(m(x), F.relu(x))


@pytest.mark.parametrize("variant", ["a", "b"])
def test_leaky_relu_special_case(variant):
    m = DyReLU(6, lambda_a=0.0, lambda_b=0.0, init_alpha=(1.0, 0.01), variant=variant, reduction=2)
    _randomise(m)
    x = torch.randn(3, 6, 5, 4)
    torch.testing.assert_close(m(x), F.leaky_relu(x, 0.01))


def test_prelu_special_case_learns_alpha2():
    channels = 5
    m = DyReLU(
        channels,
        variant="b",
        lambda_a=0.0,
        lambda_b=0.0,
        init_alpha=(1.0, 0.25),
        learnable_init=True,
        reduction=2,
    )
    _randomise(m.fc1)
    _randomise(m.fc2)
    slopes = torch.rand(channels) * 0.5
    prelu = nn.PReLU(channels)
    with torch.no_grad():
        prelu.weight.copy_(slopes)
        m.alpha.copy_(torch.stack([torch.ones(channels), slopes]))
    assert isinstance(m.alpha, nn.Parameter) and m.alpha.shape == (2, channels)

    x = torch.randn(2, channels, 4, 3)
    y, expected = m(x), prelu(x)
    torch.testing.assert_close(y, expected)
    grad = torch.randn_like(y)
    y.backward(grad)
    expected.backward(grad)
    torch.testing.assert_close(m.alpha.grad[1], prelu.weight.grad)


def test_se_special_case_matches_torchvision():
    channels, reduction = 16, 4
    se = SqueezeExcitation(channels, channels // reduction, scale_activation=nn.Sigmoid)
    _randomise(se)
    m = DyReLU(
        channels,
        num_pieces=1,
        reduction=reduction,
        variant="b",
        lambda_a=0.5,
        lambda_b=0.0,
        init_alpha=(0.5,),
        init_beta=(0.0,),
    )
    _randomise(m)
    with torch.no_grad():
        m.fc1.weight.copy_(se.fc1.weight.flatten(1))
        m.fc1.bias.copy_(se.fc1.bias)
        # The first C outputs of FC2 are the slopes' residuals (the rest: intercepts').
        m.fc2.weight[:channels].copy_(se.fc2.weight.flatten(1))
        m.fc2.bias[:channels].copy_(se.fc2.bias)
    x = torch.randn(2, channels, 6, 5)
    torch.testing.assert_close(m(x), se(x), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("variant", ["a", "b", "c"])
@pytest.mark.parametrize("num_pieces", [1, 2, 3])
def test_output_and_gradients_match_reference(variant, num_pieces):
    m = DyReLU(
        6,
        hyper_channels=4,
        num_pieces=num_pieces,
        reduction=2,
        variant=variant,
        init_alpha=(1.0, 0.2, -0.3),
        init_beta=(0.0, 0.1, 0.2),
        tau=0.5,
    ).double()
    _randomise(m)
    x = torch.randn(2, 6, 3, 2, dtype=torch.double, requires_grad=True)
    hyper = torch.randn(2, 4, 2, 2, dtype=torch.double, requires_grad=True)
    y, expected = m(x, hyper), _reference(m, x, hyper)
    assert y.shape == x.shape
    torch.testing.assert_close(y, expected)

    inputs = [x, hyper, *m.parameters()]
    grad = torch.randn_like(y)
    for got, want in zip(
        torch.autograd.grad(y, inputs, grad), torch.autograd.grad(expected, inputs, grad)
    ):
        # Eq. (3) is evaluated as (init - lambda) + 2 lambda sigmoid: rounding differs slightly.
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-6)
    assert torch.autograd.gradcheck(lambda x, h: m(x, h), (x, hyper))


def test_inplace_inference_matches_training_path():
    m = DyReLU(6, variant="c", inplace=True)
    _randomise(m)
    x = torch.randn(2, 6, 5, 4)
    y_train = m(x.clone().requires_grad_())
    with torch.no_grad():
        x_copy = x.clone()
        y = m(x_copy)
    assert y.data_ptr() == x_copy.data_ptr()
    torch.testing.assert_close(y, y_train.detach())
    torch.testing.assert_close(dynamic_piecewise(x, *m.coefficients(x), m.attention(x)), y)


@pytest.mark.parametrize("variant", ["a", "b", "c"])
def test_hyper_function_ranges_eq3_eq4(variant):
    lambda_a, lambda_b = 0.7, 0.4
    m = DyReLU(
        8,
        num_pieces=2,
        reduction=2,
        variant=variant,
        lambda_a=lambda_a,
        lambda_b=lambda_b,
        init_alpha=(1.0, 0.5),
        init_beta=(0.1, -0.2),
        tau=0.1,
    )
    _randomise(m, std=5.0)  # saturate the sigmoids: the ranges' ends are reached
    m.record = True
    x = torch.randn(4, 8, 6, 6) * 3
    m(x)
    a, b = m.recorded["a"], m.recorded["b"]
    assert a.shape == b.shape == (4, 1 if variant == "a" else 8, 2)
    for k, (alpha, beta) in enumerate([(1.0, 0.1), (0.5, -0.2)]):
        assert (a[..., k] - alpha).abs().max() <= lambda_a + 1e-6
        assert (b[..., k] - beta).abs().max() <= lambda_b + 1e-6
    assert (a - torch.tensor([1.0, 0.5])).abs().max() > 0.9 * lambda_a
    attention = m.recorded["attention"]
    if variant != "c":
        assert attention is None
        return
    assert attention.shape == (4, 1, 6, 6)
    assert attention.min() >= 0 and attention.max() <= 1
    assert attention.max() == 1  # tau = 0.1 makes the softmax peaky: the cutoff acts
    # Mean of min(gamma softmax, 1) is at most gamma / HW = 1 / GAMMA_DIVISOR.
    assert (attention.mean((1, 2, 3)) <= 1 / 3 + 1e-6).all()


def test_uniform_attention_is_one_third():
    m = DyReLU(4, variant="c")
    nn.init.zeros_(m.spatial_attention.weight)
    m.record = True
    m(torch.randn(2, 4, 3, 5))
    torch.testing.assert_close(m.recorded["attention"], torch.full((2, 1, 3, 5), 1 / 3))


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="variant must be one of"):
        DyReLU(4, variant="d")
    with pytest.raises(ValueError, match="K = 3 pieces needs"):
        DyReLU(4, num_pieces=3)


@pytest.mark.parametrize("variant", ["a", "b", "c"])
@pytest.mark.parametrize("num_pieces", [1, 2])
def test_batchnorm_folds_into_coefficients_at_inference(variant, num_pieces):
    m = DyReLU(
        6, hyper_channels=4, num_pieces=num_pieces, variant=variant, reduction=2, inplace=True
    )
    _randomise(m)
    norm = nn.BatchNorm2d(6).eval()
    with torch.no_grad():
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
    x, hyper = torch.randn(2, 6, 5, 4), torch.randn(2, 4, 3, 3)
    with torch.no_grad():
        assert m.can_fold(norm, x)
        expected = m(norm(x), hyper)
        m.record = True
        folded = m.forward_folded(x.clone(), hyper, norm)
    torch.testing.assert_close(folded, expected)
    a, _ = m.coefficients(hyper)
    torch.testing.assert_close(m.recorded["a"], a.transpose(1, 2))  # before folding
    assert not m.can_fold(norm.train(), x)
    assert not m.can_fold(norm.eval(), x.requires_grad_())


def test_hooks_see_the_normalised_input():
    m = DyReLU(6, variant="c", inplace=True)
    norm = nn.BatchNorm2d(6).eval()
    x = torch.randn(2, 6, 5, 4)
    with torch.no_grad():
        assert m.can_fold(norm, x)
        handle = m.register_forward_pre_hook(lambda *_: None)
        assert not m.can_fold(norm, x)
        handle.remove()
        assert m.can_fold(norm, x)
