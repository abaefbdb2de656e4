"""Heatmap loss: values against hand-computed sums."""

import torch

from dypose.engine.losses import KeypointMSELoss


def _batch():
    output = torch.zeros(2, 3, 2, 2)
    target = torch.zeros(2, 3, 2, 2)
    output[0, 0] = 1.0  # error 1 on all 4 pixels of person 0, keypoint 0
    output[1, 2, 0, 0] = 2.0  # error 2 on one pixel of person 1, keypoint 2
    weight = torch.ones(2, 3, 1)
    return output, target, weight


def test_weighted_mse_matches_hand_computation():
    output, target, weight = _batch()
    loss = KeypointMSELoss()(output, target, weight)
    # Squared errors sum to 4 * 1 + 4 = 8 over 2*3*4 = 24 entries; times 0.5.
    assert torch.isclose(loss, torch.tensor(0.5 * 8 / 24))


def test_zero_weight_removes_keypoint():
    output, target, weight = _batch()
    weight[1, 2] = 0.0
    loss = KeypointMSELoss()(output, target, weight)
    assert torch.isclose(loss, torch.tensor(0.5 * 4 / 24))
    unweighted = KeypointMSELoss(use_target_weight=False)(output, target, weight)
    assert torch.isclose(unweighted, torch.tensor(0.5 * 8 / 24))


def test_ohkm_keeps_hardest_keypoints():
    output, target, weight = _batch()
    loss = KeypointMSELoss(use_ohkm=True, topk=1)(output, target, weight)
    # Per person the hardest keypoint: 0.5 * 4/4 = 0.5 and 0.5 * 4/4 = 0.5.
    assert torch.isclose(loss, torch.tensor(0.5))
