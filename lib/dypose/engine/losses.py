"""Heatmap losses: weighted MSE as in HRNet's JointsMSELoss, with optional OHKM."""

import torch
from torch import nn

# HRNet halves the squared error (0.5 * MSE); kept so loss values compare with its logs.
MSE_HALF = 0.5


class KeypointMSELoss(nn.Module):
    """Mean squared heatmap error, weighted per keypoint by its target weight.

    loss = 0.5 * mean over keypoints of MSE(pred * w, target * w), where each MSE
    averages over the batch and the heatmap pixels. With online hard keypoint
    mining (OHKM) each person keeps only the `topk` largest per-keypoint losses.

    Args:
        use_target_weight: multiply heatmaps by the (K, 1) target weights first, so
            unlabelled keypoints (weight 0) contribute nothing.
        use_ohkm: average only the `topk` hardest keypoints per person.
        topk: keypoints kept per person by OHKM.
    """

    def __init__(self, use_target_weight: bool = True, use_ohkm: bool = False, topk: int = 8):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.use_ohkm = use_ohkm
        self.topk = topk

    def per_keypoint(
        self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor
    ) -> torch.Tensor:
        """Per-person, per-keypoint losses.

        Args:
            output: predicted heatmaps (N, K, h, w).
            target: target heatmaps (N, K, h, w).
            target_weight: (N, K, 1) weights.

        Returns:
            (N, K) tensor: 0.5 * mean over pixels of the squared weighted error.
        """
        diff = output.float() - target.float()
        if self.use_target_weight:
            diff = diff * target_weight.float().unsqueeze(-1)
        return MSE_HALF * diff.pow(2).flatten(2).mean(dim=2)

    def forward(
        self, output: torch.Tensor, target: torch.Tensor, target_weight: torch.Tensor
    ) -> torch.Tensor:
        """Scalar loss for a batch; shapes as in `per_keypoint`."""
        losses = self.per_keypoint(output, target, target_weight)
        if not self.use_ohkm:
            return losses.mean()
        topk = min(self.topk, losses.shape[1])
        hardest, _ = losses.topk(topk, dim=1)
        return hardest.mean()


def build_loss(cfg) -> KeypointMSELoss:
    """The loss configured by cfg.LOSS."""
    return KeypointMSELoss(
        use_target_weight=cfg.LOSS.USE_TARGET_WEIGHT,
        use_ohkm=cfg.LOSS.USE_OHKM,
        topk=cfg.LOSS.TOPK,
    )
