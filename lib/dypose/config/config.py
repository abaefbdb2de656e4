"""Loading, overriding and validating experiment configs."""

import difflib
import os
from ast import literal_eval
from typing import Optional, Sequence

from yacs.config import CfgNode as CN

from dypose.config.defaults import get_defaults

BACKBONES = ("mobilenetv2", "mobilenetv3_large", "mobilenetv3_small")
ACTIVATIONS = ("static", "dyrelu_a", "dyrelu_b", "dyrelu_c")
MODEL_NAMES = ("pose_mobilenet",)
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "sgd")
COCOEVAL_BACKENDS = ("pycocotools", "faster_coco_eval")


class ConfigError(ValueError):
    """A config file or override that DyPose cannot use."""


def _all_keys(node: CN, prefix: str = "") -> list:
    keys = []
    for name, value in node.items():
        full = f"{prefix}{name}"
        keys.append(full)
        if isinstance(value, CN):
            keys.extend(_all_keys(value, full + "."))
    return keys


def _unknown_key_error(key: str, source: str, defaults: CN) -> ConfigError:
    valid = _all_keys(defaults)
    close = difflib.get_close_matches(key, valid, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return ConfigError(f"{source}: unknown config key '{key}'.{hint}")


def _find_unknown(node: CN, reference: CN, prefix: str = ""):
    """Returns the first key of `node` (dotted) that `reference` lacks, or None."""
    for name, value in node.items():
        full = f"{prefix}{name}"
        if name not in reference:
            return full
        if isinstance(value, CN) and isinstance(reference[name], CN):
            found = _find_unknown(value, reference[name], full + ".")
            if found:
                return found
    return None


def _int_to_float(value, default):
    """An int given where the default is a float (TEST.IMAGE_THRE 0) becomes that float.

    yacs refuses int for float keys; "0" for "0.0" is what people type, so accept it.
    """
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def _coerce_node(loaded: CN, reference: CN) -> None:
    """Applies `_int_to_float` through a loaded yaml tree, in place."""
    for name, value in loaded.items():
        if isinstance(value, CN):
            _coerce_node(value, reference[name])
        else:
            loaded[name] = _int_to_float(value, reference[name])


def _merge_file(cfg: CN, path: str) -> None:
    if not os.path.isfile(path):
        raise ConfigError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as f:
        try:
            loaded = cfg.load_cfg(f)
        except Exception as err:  # yaml errors come in several classes
            raise ConfigError(f"{path}: not a valid yaml config ({err})") from err
    unknown = _find_unknown(loaded, cfg)
    if unknown:
        raise _unknown_key_error(unknown, path, cfg)
    _coerce_node(loaded, cfg)
    try:
        cfg.merge_from_other_cfg(loaded)
    except (ValueError, KeyError) as err:
        raise ConfigError(f"{path}: {err}") from err


def _merge_opts(cfg: CN, opts: Sequence[str]) -> None:
    opts = list(opts)
    if len(opts) % 2:
        raise ConfigError(
            f"overrides come as KEY VALUE pairs; got an odd count ({len(opts)}): {opts}"
        )
    for i in range(0, len(opts), 2):
        node = cfg
        for part in opts[i].split("."):
            if not isinstance(node, CN) or part not in node:
                raise _unknown_key_error(opts[i], "command-line override", cfg)
            node = node[part]
        try:
            value = literal_eval(opts[i + 1])
        except (ValueError, SyntaxError):
            continue  # a plain string; yacs keeps it as one
        if _int_to_float(value, node) is not value:
            opts[i + 1] = repr(float(value))
    try:
        cfg.merge_from_list(opts)
    except (ValueError, KeyError, AssertionError) as err:
        raise ConfigError(f"command-line override: {err}") from err


def _check_choice(value, choices, key: str) -> None:
    if value not in choices:
        raise ConfigError(f"{key} = '{value}' is not valid; choose one of: {', '.join(choices)}")


def _check_pair(value, key: str) -> None:
    if len(value) != 2 or any(int(v) <= 0 for v in value):
        raise ConfigError(f"{key} must be two positive sizes [W, H]; got {list(value)}")


def validate(cfg: CN) -> None:
    """Raises ConfigError naming the key, the value and the valid choices."""
    _check_choice(cfg.MODEL.NAME, MODEL_NAMES, "MODEL.NAME")
    _check_choice(cfg.MODEL.BACKBONE.NAME, BACKBONES, "MODEL.BACKBONE.NAME")
    _check_choice(cfg.DEVICE, DEVICES, "DEVICE")
    _check_choice(cfg.TRAIN.OPTIMIZER, OPTIMIZERS, "TRAIN.OPTIMIZER")
    _check_choice(cfg.TEST.COCOEVAL_BACKEND, COCOEVAL_BACKENDS, "TEST.COCOEVAL_BACKEND")
    for part in ("BACKBONE", "HEAD"):
        act = cfg.MODEL[part].ACTIVATION
        _check_choice(act.KIND, ACTIVATIONS, f"MODEL.{part}.ACTIVATION.KIND")
        if act.K < 1:
            raise ConfigError(f"MODEL.{part}.ACTIVATION.K must be >= 1; got {act.K}")
        if act.R < 0:
            raise ConfigError(f"MODEL.{part}.ACTIVATION.R must be >= 0 (0: paper's); got {act.R}")
        dy = cfg.MODEL.DYRELU
        if act.KIND != "static" and min(len(dy.INIT_ALPHA), len(dy.INIT_BETA)) < act.K:
            raise ConfigError(
                f"MODEL.{part}.ACTIVATION.K = {act.K} needs at least {act.K} values in "
                f"MODEL.DYRELU.INIT_ALPHA and INIT_BETA; got {list(dy.INIT_ALPHA)} and "
                f"{list(dy.INIT_BETA)}"
            )
    if cfg.MODEL.BACKBONE.WIDTH <= 0:
        raise ConfigError(f"MODEL.BACKBONE.WIDTH must be > 0; got {cfg.MODEL.BACKBONE.WIDTH}")
    if len(cfg.MODEL.HEAD.CHANNELS) != 3:
        raise ConfigError(
            f"MODEL.HEAD.CHANNELS takes three channel counts; got {list(cfg.MODEL.HEAD.CHANNELS)}"
        )
    _check_pair(cfg.MODEL.IMAGE_SIZE, "MODEL.IMAGE_SIZE")
    _check_pair(cfg.MODEL.HEATMAP_SIZE, "MODEL.HEATMAP_SIZE")
    if cfg.MODEL.NUM_JOINTS < 1:
        raise ConfigError(f"MODEL.NUM_JOINTS must be >= 1; got {cfg.MODEL.NUM_JOINTS}")
    if cfg.MODEL.TARGET_TYPE != "gaussian":
        raise ConfigError(f"MODEL.TARGET_TYPE = '{cfg.MODEL.TARGET_TYPE}'; only 'gaussian'")
    if list(cfg.TRAIN.LR_STEP) != sorted(cfg.TRAIN.LR_STEP):
        raise ConfigError(f"TRAIN.LR_STEP must be increasing; got {list(cfg.TRAIN.LR_STEP)}")


def get_config(path: Optional[str] = None, opts: Sequence[str] = ()) -> CN:
    """Builds the config of an experiment.

    Args:
        path: yaml experiment file merged over the defaults (None: defaults only).
        opts: flat ["KEY", "VALUE", ...] overrides merged last, as on HRNet's command line.

    Returns:
        The frozen, validated CfgNode.

    Raises:
        ConfigError: unknown keys (with the closest valid ones), bad values or files.
    """
    cfg = get_defaults()
    if path:
        _merge_file(cfg, path)
    if opts:
        _merge_opts(cfg, opts)
    validate(cfg)
    cfg.freeze()
    return cfg
