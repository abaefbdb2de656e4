"""Training loop, evaluation driver, checkpoints and distributed helpers.

Public entry points:
    train(cfg, cfg_path) -> TrainResult         tools/train.py
    run_evaluation(cfg, model, dataset, output_dir, device, distributed)
    load_model_weights(model, path)             strict, with or without "module."
    get_output_dir(cfg, cfg_path)               OUTPUT_DIR/<dataset>/<yaml name>
"""

from dypose.engine.checkpoint import CheckpointError, load_model_weights
from dypose.engine.evaluate import run_evaluation
from dypose.engine.logger import get_log_dir, get_output_dir, setup_logging
from dypose.engine.losses import KeypointMSELoss, build_loss
from dypose.engine.metrics import keypoint_accuracy
from dypose.engine.trainer import NonFiniteLossError, TrainResult, train

__all__ = [
    "CheckpointError",
    "KeypointMSELoss",
    "NonFiniteLossError",
    "TrainResult",
    "build_loss",
    "get_log_dir",
    "get_output_dir",
    "keypoint_accuracy",
    "load_model_weights",
    "run_evaluation",
    "setup_logging",
    "train",
]
