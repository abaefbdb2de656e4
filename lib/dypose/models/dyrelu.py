"""Dynamic ReLU (Chen et al., ECCV 2020), variants A, B and C for any number of pieces K.

y_c = max_k(a_c^k(x) x_c + b_c^k(x))                                  Eq. (1)
a^k = alpha^k + lambda_a (2 sigmoid(z_a) - 1), b^k = beta^k + lambda_b (2 sigmoid(z_b) - 1)  Eq. (3)
pi_hw = min(gamma softmax(z / tau)_hw, 1), gamma = HW / GAMMA_DIVISOR       Eq. (4)

The hyper function (section 3.2) pools its input, then FC -> ReLU -> FC -> 2 sigmoid - 1.
Variant A shares one function across channels (2K outputs), B and C are channel-wise (2KC
outputs), C also scales the coefficients by a spatial attention pi (section 4).

Speed (section 3.3 promises a small overhead): the piecewise function is evaluated without
materialising K copies of the feature map, and variant C scales the output once by pi
instead of scaling a and b, the same function because pi >= 0:
max_k(pi a_k x + pi b_k) = pi max_k(a_k x + b_k). At inference the input is overwritten in
place (as nn.ReLU(inplace=True)); when training eagerly a custom autograd function saves
only x, the coefficients, the small softmax and the output, and recomputes the rest in
backward with one scratch buffer. Under torch.compile the plain expression is traced, and
Inductor fuses it into one pass.
"""

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = ("a", "b", "c")
# Floor of the attention when dividing by it in backward (float32 keeps 1e-30).
_TINY = 1e-30


def _piecewise(
    x: torch.Tensor, a: torch.Tensor, b: torch.Tensor, out: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """max_k(a_k x + b_k) for x (N, C, H, W), a and b (N, K, C') with C' in {C, 1}.

    Without autograd, writes into `out` when given (x itself is allowed: every element is
    read before it is written) and allocates at most one temporary. On the CPU, x * a + b
    in place is several times faster than addcmul with broadcast operands.
    """
    a4, b4 = a[..., None, None], b[..., None, None]
    num_pieces = a.shape[1]
    tracked = torch.is_grad_enabled() and any(t.requires_grad for t in (x, a, b))
    if tracked or torch.compiler.is_compiling():
        # Differentiable (and traceable) form: no in-place or out= operations.
        y = x * a4[:, 0] + b4[:, 0]
        for k in range(1, num_pieces):
            y = torch.maximum(y, x * a4[:, k] + b4[:, k])
        return y

    best = None
    if num_pieces > 1:
        best = torch.mul(x, a4[:, 0]).add_(b4[:, 0])
        if num_pieces > 2:
            piece = torch.empty_like(x)
            for k in range(1, num_pieces - 1):
                torch.mul(x, a4[:, k], out=piece).add_(b4[:, k])
                torch.maximum(best, piece, out=best)
    last = torch.mul(x, a4[:, -1]) if out is None else torch.mul(x, a4[:, -1], out=out)
    last.add_(b4[:, -1])
    return last if best is None else torch.maximum(last, best, out=last)


def _winner_masks(x: torch.Tensor, a4: torch.Tensor, b4: torch.Tensor) -> list:
    """Boolean (N, C, H, W) masks of where each of K > 2 pieces is the maximum."""
    num_pieces = a4.shape[1]
    best = x * a4[:, 0] + b4[:, 0]
    index = torch.zeros_like(x, dtype=torch.uint8)
    for k in range(1, num_pieces):
        piece = x * a4[:, k] + b4[:, k]
        better = piece > best
        best = torch.where(better, piece, best)
        index.masked_fill_(better, k)
    return [index == k for k in range(num_pieces)]


def _coefficient_grads(grad, x, a4, b4, dims, buffer):
    """Gradients of max_k(a_k x + b_k) w.r.t. x, a and b (grad already times attention).

    `buffer` is scratch space shaped like x, reused for every product.
    """
    num_pieces = a4.shape[1]
    if num_pieces == 2:
        # Piece 0 wins where (a0 - a1) x + (b0 - b1) >= 0: a 0/1 float mask (float
        # products are much faster than mixed bool ones). Piece 1's sums are total - piece 0's.
        slope_gap = a4[:, 0] - a4[:, 1]
        torch.mul(x, slope_gap, out=buffer).add_(b4[:, 0] - b4[:, 1])
        torch.ge(buffer, 0, out=buffer)
        first_grad = buffer.mul_(grad)
        grad_b0 = first_grad.sum(dims)
        grad_x = torch.mul(grad, a4[:, 1]).addcmul_(first_grad, slope_gap)
        grad_a0 = first_grad.mul_(x).sum(dims)
        grad_a_total = torch.mul(grad, x, out=buffer).sum(dims)
        grad_b_total = grad.sum(dims)
        grad_a = torch.stack([grad_a0, grad_a_total - grad_a0], 1)
        grad_b = torch.stack([grad_b0, grad_b_total - grad_b0], 1)
        return grad_x, grad_a, grad_b

    masks = [None] if num_pieces == 1 else _winner_masks(x, a4, b4)
    slope = a4[:, -1]
    for k in range(num_pieces - 2, -1, -1):
        slope = torch.where(masks[k], a4[:, k], slope)
    grad_x = grad * slope
    grad_a, grad_b = [], []
    for mask in masks:
        picked = grad if mask is None else torch.mul(grad, mask, out=buffer)
        grad_b.append(picked.sum(dims))
        grad_a.append(torch.mul(picked, x, out=buffer).sum(dims))
    return grad_x, torch.stack(grad_a, 1), torch.stack(grad_b, 1)


def spatial_attention(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, tau: float, gamma_divisor: float
) -> tuple:
    """Eq. (4): pi = min(gamma softmax(z / tau), 1), z a 1x1 conv of x to one channel.

    Args:
        x: (N, C, H, W) activated tensor.
        weight: (C,) conv weights; bias: (1,) conv bias.
        tau: softmax temperature; gamma_divisor: gamma = H W / gamma_divisor.

    Returns:
        pi (N, 1, H, W) and the softmax (N, H W).
    """
    n, c, h, w = x.shape
    # The 1x1 conv to one channel as a batched vector-matrix product: on the CPU it reads x
    # once, where the convolution routine first reorders the whole tensor (~10x slower).
    # z / tau = (w x + bias) / tau in one op.
    z = torch.baddbmm(
        bias.view(1, 1, 1).expand(n, 1, h * w),
        weight.view(1, 1, c).expand(n, 1, c),
        x.reshape(n, c, h * w),
        beta=1.0 / tau,
        alpha=1.0 / tau,
    )
    softmax = torch.softmax(z.view(n, h * w), dim=1)
    gamma = h * w / gamma_divisor
    return (gamma * softmax).clamp(max=1.0).view(n, 1, h, w), softmax


class _DynamicPiecewise(torch.autograd.Function):
    """pi * max_k(a_k x + b_k) with pi from x (variant C) or pi = 1, memory- and pass-lean.

    Autograd of the plain expression keeps every piece, the pre-attention output and the
    attention branch's intermediates; here forward saves x, the coefficients, the (small)
    softmax and the output (no extra memory: the next convolution saves it anyway), and
    backward recomputes the rest, adding the attention branch's gradient to x in place.
    """

    @staticmethod
    def forward(ctx, x, a, b, weight, bias, tau, gamma_divisor):
        attention = softmax = None
        if weight is not None:
            attention, softmax = spatial_attention(x, weight, bias, tau, gamma_divisor)
        y = _piecewise(x, a, b)
        if attention is not None:
            y.mul_(attention)
            ctx.mark_non_differentiable(attention)
        ctx.tau, ctx.gamma = tau, x.shape[2] * x.shape[3] / gamma_divisor
        saved_y = y if weight is not None else None
        ctx.save_for_backward(x, a, b, weight, attention, softmax, saved_y)
        return y, attention

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad, _grad_attention):
        x, a, b, weight, attention, softmax, y = ctx.saved_tensors
        buffer = torch.empty_like(x)
        grad_z = None
        if attention is not None:
            grad_z = _attention_grad(grad, y, attention, softmax, ctx.gamma, ctx.tau, buffer)
            grad = grad * attention

        # Coefficients are shared over H, W (and over C for variant A): sum the rest away.
        dims = (2, 3) if a.shape[2] > 1 else (1, 2, 3)
        grad_x, grad_a, grad_b = _coefficient_grads(
            grad, x, a[..., None, None], b[..., None, None], dims, buffer
        )
        grad_weight = grad_bias = None
        if grad_z is not None:
            n, c, h, w = x.shape
            grad_x.addcmul_(weight.view(1, c, 1, 1), grad_z.view(n, 1, h, w))
            grad_weight = torch.bmm(x.view(n, c, h * w), grad_z.view(n, h * w, 1)).sum(0).view(c)
            grad_bias = grad_z.sum().view(1)
        return grad_x, grad_a.view_as(a), grad_b.view_as(b), grad_weight, grad_bias, None, None


def _attention_grad(grad, y, attention, softmax, gamma, tau, buffer):
    """Gradient w.r.t. z, the attention conv's output (N, H W), of sum(grad * y)."""
    # d y / d pi = max_k(...) = y / pi; pi > 0 unless the softmax underflows, where y = 0
    # too and the softmax's own derivative (proportional to it) vanishes.
    grad_pi = torch.mul(grad, y, out=buffer).sum(1).flatten(1)
    grad_pi.div_(attention.flatten(1).clamp_min(_TINY))
    # The cutoff at 1 passes no gradient; then softmax(z / tau) scaled by gamma.
    grad_s = grad_pi.mul_(gamma).masked_fill_(gamma * softmax >= 1.0, 0.0)
    inner = (grad_s * softmax).sum(1, keepdim=True)
    return grad_s.sub_(inner).mul_(softmax).div_(tau)


def dynamic_piecewise(
    x: torch.Tensor,
    a: torch.Tensor,
    b: torch.Tensor,
    attention: Optional[torch.Tensor] = None,
    inplace: bool = False,
) -> torch.Tensor:
    """Evaluates pi * max_k(a_k x + b_k), Eq. (1) with variant C's attention applied once.

    Plain tensor operations (differentiable by autograd); DyReLU uses a leaner autograd
    function when training eagerly.

    Args:
        x: (N, C, H, W) input.
        a: (N, K, C') slopes, C' = C (channel-wise) or 1 (channel-shared).
        b: (N, K, C') intercepts.
        attention: optional (N, 1, H, W) non-negative spatial attention pi.
        inplace: overwrite x (only when no gradient flows through it).

    Returns:
        (N, C, H, W) output.
    """
    y = _piecewise(x, a, b, out=x if inplace else None)
    if attention is None:
        return y
    return y.mul_(attention) if inplace else y * attention


def _needs_grad(x, a, b, conv) -> bool:
    params = () if conv is None else (conv.weight, conv.bias)
    return any(t.requires_grad for t in (x, a, b, *params))


class DyReLU(nn.Module):
    """Dynamic ReLU: a piecewise linear activation whose pieces depend on the input.

    Args:
        channels: C, channels of the activated tensor.
        hyper_channels: channels of the hyper function's input; defaults to `channels`
            (the module pools the tensor it activates). Inside the MobileNets it is the input
            of the convolution before the activation (DESIGN.md, Architecture).
        num_pieces: K, the number of linear functions (default 2).
        reduction: R; the first FC maps hyper_channels -> max(1, hyper_channels // R).
        variant: "a" (spatial and channel-shared), "b" (channel-wise) or "c" (channel-wise
            with spatial attention, Eq. (4)).
        lambda_a: range of the slope residual (Eq. (3)); default 1.0.
        lambda_b: range of the intercept residual (Eq. (3)); default 0.5.
        init_alpha: initial slopes alpha^k; the first K values are used (default (1, 0)).
        init_beta: initial intercepts beta^k; the first K values are used (default (0, 0)).
        tau: softmax temperature of the spatial attention (variant C); default 10.
        gamma_divisor: gamma = H W / gamma_divisor (variant C); default 3, which makes the
            mean attention 1/3 before the cutoff.
        learnable_init: make alpha and beta learnable per-channel parameters (K, C) (with
            lambda = 0 this is PReLU's learnable slope, paper Table 1).
        inplace: overwrite the input when no gradient is needed (as nn.ReLU(inplace=True)).

    Attributes:
        record: when True, each forward stores `recorded` = {"a": (N, C', K), "b": (N, C',
            K), "attention": (N, 1, H, W) or None}, detached, with C' = C (variants B, C) or
            1 (A); a and b are the channel-wise coefficients before the spatial attention.
    """

    def __init__(
        self,
        channels: int,
        hyper_channels: Optional[int] = None,
        num_pieces: int = 2,
        reduction: int = 8,
        variant: str = "c",
        lambda_a: float = 1.0,
        lambda_b: float = 0.5,
        init_alpha: Sequence[float] = (1.0, 0.0),
        init_beta: Sequence[float] = (0.0, 0.0),
        tau: float = 10.0,
        gamma_divisor: float = 3.0,
        learnable_init: bool = False,
        inplace: bool = False,
    ):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"DyReLU variant must be one of {VARIANTS}; got {variant!r}")
        if num_pieces < 1 or min(len(init_alpha), len(init_beta)) < num_pieces:
            raise ValueError(
                f"DyReLU with K = {num_pieces} pieces needs K >= 1 and at least K values in "
                f"init_alpha and init_beta; got {list(init_alpha)} and {list(init_beta)}"
            )
        hyper_channels = channels if hyper_channels is None else hyper_channels
        self.channels = channels
        self.num_pieces = num_pieces
        self.variant = variant
        self.lambda_a = float(lambda_a)
        self.lambda_b = float(lambda_b)
        self.tau = float(tau)
        self.gamma_divisor = float(gamma_divisor)
        self.inplace = inplace
        self.record = False
        self.recorded: Optional[dict] = None

        # Hyper function (section 3.2): pool -> FC -> ReLU -> FC -> 2K residuals per channel.
        coeff_channels = 1 if variant == "a" else channels
        self.fc1 = nn.Linear(hyper_channels, max(1, hyper_channels // reduction))
        self.fc2 = nn.Linear(self.fc1.out_features, 2 * num_pieces * coeff_channels)
        init_shape = (num_pieces, coeff_channels if learnable_init else 1)
        alpha = torch.tensor(list(init_alpha[:num_pieces]), dtype=torch.float32)[:, None]
        beta = torch.tensor(list(init_beta[:num_pieces]), dtype=torch.float32)[:, None]
        if learnable_init:
            self.alpha = nn.Parameter(alpha.expand(init_shape).clone())
            self.beta = nn.Parameter(beta.expand(init_shape).clone())
        else:
            # Fixed by the config, so kept out of the state dict.
            self.register_buffer("alpha", alpha, persistent=False)
            self.register_buffer("beta", beta, persistent=False)
        # lambda_a for the K slopes, lambda_b for the K intercepts; offset = init - lambda.
        ranges = torch.tensor([lambda_a] * num_pieces + [lambda_b] * num_pieces)[:, None]
        self.register_buffer("ranges", ranges, persistent=False)
        if not learnable_init:
            self.register_buffer("offset", torch.cat([alpha, beta]) - ranges, persistent=False)

        # Variant C's spatial attention branch: 1x1 conv to one channel (Eq. (4)).
        self.spatial_attention = nn.Conv2d(channels, 1, 1) if variant == "c" else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Small FC weights: the residuals start near 0, so DY-ReLU starts near alpha, beta."""
        for fc in (self.fc1, self.fc2):
            nn.init.normal_(fc.weight, 0.0, 0.01)
            nn.init.zeros_(fc.bias)
        if self.spatial_attention is not None:
            self.spatial_attention.reset_parameters()

    def coefficients(self, hyper_input: torch.Tensor) -> tuple:
        """Eq. (3): slopes and intercepts, each (N, K, C') with C' = C or 1 (variant A)."""
        pooled = hyper_input.mean((2, 3))
        gate = torch.sigmoid(self.fc2(F.relu(self.fc1(pooled))))
        gate = gate.view(pooled.shape[0], 2 * self.num_pieces, -1)
        # init + lambda (2 sigmoid - 1) as one fused op: (init - lambda) + 2 lambda sigmoid.
        if isinstance(self.alpha, nn.Parameter):
            offset = torch.cat([self.alpha, self.beta]) - self.ranges
        else:
            offset = self.offset
        coefficients = torch.addcmul(offset, 2.0 * self.ranges, gate)
        return coefficients[:, : self.num_pieces], coefficients[:, self.num_pieces :]

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. (4): (N, 1, H, W) attention min(gamma softmax(z / tau), 1), gamma = HW / 3."""
        conv = self.spatial_attention
        return spatial_attention(x, conv.weight.view(-1), conv.bias, self.tau, self.gamma_divisor)[
            0
        ]

    def forward(
        self,
        x: torch.Tensor,
        hyper_input: Optional[torch.Tensor] = None,
        norm: Optional[nn.BatchNorm2d] = None,
    ) -> torch.Tensor:
        """Activates x (N, C, H, W); the hyper function pools `hyper_input` (default x).

        With `norm` (only where can_fold(norm, x) holds), activates norm(x) instead through
        forward_folded; passing it here keeps forward hooks firing.
        """
        if norm is not None:
            return self.forward_folded(x, x if hyper_input is None else hyper_input, norm)
        a, b = self.coefficients(x if hyper_input is None else hyper_input)
        conv = self.spatial_attention
        if torch.compiler.is_compiling() or not (
            torch.is_grad_enabled() and _needs_grad(x, a, b, conv)
        ):
            # Inference, or compiled: Inductor fuses the plain expression into one pass.
            attention = self.attention(x) if conv is not None else None
            inplace = self.inplace and not torch.compiler.is_compiling()
            y = dynamic_piecewise(x, a, b, attention, inplace=inplace)
        else:
            weight, bias = (None, None) if conv is None else (conv.weight.view(-1), conv.bias)
            y, attention = _DynamicPiecewise.apply(
                x, a, b, weight, bias, self.tau, self.gamma_divisor
            )
        if self.record:
            self.recorded = {
                "a": a.detach().transpose(1, 2),
                "b": b.detach().transpose(1, 2),
                "attention": None if attention is None else attention.detach(),
            }
        return y

    def can_fold(self, norm: nn.Module, x: torch.Tensor) -> bool:
        """Whether forward_folded may replace norm -> self for input x (inference only).

        Not while hooks observe this module: they expect its input to be norm(x).
        """
        return (
            self.inplace
            and not (self._forward_hooks or self._forward_pre_hooks)
            and isinstance(norm, nn.BatchNorm2d)
            and not norm.training
            and norm.running_mean is not None
            and norm.affine
            and not torch.compiler.is_compiling()
            and not (torch.is_grad_enabled() and (x.requires_grad or norm.weight.requires_grad))
        )

    def forward_folded(
        self, x: torch.Tensor, hyper_input: torch.Tensor, norm: nn.BatchNorm2d
    ) -> torch.Tensor:
        """self(norm(x)) at inference, overwriting x, without materialising norm(x).

        norm(x) = s x + t per channel is affine, so a_k norm(x) + b_k = (a_k s) x + (a_k t +
        b_k), and the attention conv's w . norm(x) + bias = (w s) . x + (w . t + bias):
        eval-mode BatchNorm folds into the coefficients, saving a pass over the tensor.
        """
        a, b = self.coefficients(hyper_input)
        scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)
        shift = norm.bias - norm.running_mean * scale
        folded_a = a * scale
        folded_b = torch.addcmul(b, a, shift)
        attention = None
        conv = self.spatial_attention
        if conv is not None:
            weight = conv.weight.view(-1)
            bias = conv.bias + (weight * shift).sum()
            attention = spatial_attention(x, weight * scale, bias, self.tau, self.gamma_divisor)[0]
        if self.record:
            self.recorded = {
                "a": a.transpose(1, 2),
                "b": b.transpose(1, 2),
                "attention": attention,
            }
        return dynamic_piecewise(x, folded_a, folded_b, attention, inplace=True)

    def extra_repr(self) -> str:
        return (
            f"channels={self.channels}, variant={self.variant!r}, K={self.num_pieces}, "
            f"lambda_a={self.lambda_a}, lambda_b={self.lambda_b}"
        )
