"""Loading local torchvision ImageNet checkpoints into the static backbones."""

import logging
import os

import torch
from torch import nn

logger = logging.getLogger(__name__)

# torchvision's classification layers, absent from the pose backbones.
CLASSIFIER_PREFIX = "classifier."
# Keys listed in an error message before "...".
MAX_KEYS_SHOWN = 8


def _key_list(keys) -> str:
    keys = sorted(keys)
    shown = ", ".join(keys[:MAX_KEYS_SHOWN])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > MAX_KEYS_SHOWN else "")


def load_torchvision_backbone(backbone: nn.Module, path: str) -> None:
    """Loads a torchvision MobileNet state_dict (file) into a static backbone, strictly.

    The classifier's keys are dropped by name; every other key must exist in the backbone
    with the same shape, and every backbone key must be in the file.

    Args:
        backbone: a MobileNetV2Backbone or MobileNetV3Backbone with static activations.
        path: a file saved with torch.save(torchvision_model.state_dict(), path).

    Raises:
        ValueError: the file is missing or its keys or shapes do not match the backbone.
    """
    if not os.path.isfile(path):
        raise ValueError(f"MODEL.PRETRAINED = {path!r}: file not found")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"MODEL.PRETRAINED = {path!r}: expected a state_dict, got {type(state)}")
    state = {k: v for k, v in state.items() if not k.startswith(CLASSIFIER_PREFIX)}

    own = backbone.state_dict()
    missing = set(own) - set(state)
    unexpected = set(state) - set(own)
    if missing or unexpected:
        raise ValueError(
            f"MODEL.PRETRAINED = {path!r} does not match the backbone "
            f"{type(backbone).__name__} (is it the same torchvision architecture and width, "
            f"and MODEL.BACKBONE.ACTIVATION.KIND 'static'?). Missing keys: "
            f"{_key_list(missing) or 'none'}. Unexpected keys: {_key_list(unexpected) or 'none'}"
        )
    wrong_shape = [k for k, v in state.items() if v.shape != own[k].shape]
    if wrong_shape:
        details = ", ".join(
            f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
            for k in wrong_shape[:MAX_KEYS_SHOWN]
        )
        raise ValueError(f"MODEL.PRETRAINED = {path!r}: shapes differ (file vs model): {details}")
    backbone.load_state_dict(state, strict=True)
    logger.info("loaded %d backbone tensors from %s", len(state), path)
