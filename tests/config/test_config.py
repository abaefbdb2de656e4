"""get_config: merging, freezing and the validation errors users meet."""

import glob
import os

import pytest

from dypose.config import ConfigError, get_config


def _write(tmp_path, text, name="exp.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_file_then_overrides_merge_and_freeze(tmp_path):
    path = _write(tmp_path, "MODEL:\n  BACKBONE:\n    NAME: mobilenetv3_small\n  SIGMA: 3.0\n")
    cfg = get_config(path, ["MODEL.SIGMA", "2.5", "TRAIN.LR_STEP", "[10, 20]"])
    assert cfg.MODEL.BACKBONE.NAME == "mobilenetv3_small"
    assert cfg.MODEL.SIGMA == 2.5 and list(cfg.TRAIN.LR_STEP) == [10, 20]
    assert cfg.MODEL.IMAGE_SIZE == [192, 256]  # untouched default
    with pytest.raises(AttributeError):
        cfg.MODEL.SIGMA = 1.0


def test_unknown_key_in_file_suggests_close_match(tmp_path):
    path = _write(tmp_path, "MODEL:\n  BACKBONE:\n    WIDHT: 0.5\n")
    with pytest.raises(
        ConfigError,
        match=r"exp\.yaml: unknown config key 'MODEL\.BACKBONE\.WIDHT'"
        r".*Did you mean: MODEL\.BACKBONE\.WIDTH",
    ):
        get_config(path)


def test_unknown_override_suggests_close_match():
    with pytest.raises(
        ConfigError,
        match=r"command-line override: unknown config key "
        r"'MODEL\.DYRELU\.LAMDA_A'.*Did you mean: MODEL\.DYRELU\.LAMBDA_A",
    ):
        get_config(None, ["MODEL.DYRELU.LAMDA_A", "1.0"])


def test_unknown_key_without_close_match_has_no_hint():
    with pytest.raises(ConfigError, match=r"unknown config key 'ZZZ'\.$"):
        get_config(None, ["ZZZ", "1"])


def test_bad_backbone_lists_choices():
    with pytest.raises(
        ConfigError,
        match=r"MODEL\.BACKBONE\.NAME = 'resnet50' is not valid; "
        r"choose one of: mobilenetv2, mobilenetv3_large, mobilenetv3_small",
    ):
        get_config(None, ["MODEL.BACKBONE.NAME", "resnet50"])


@pytest.mark.parametrize("part", ["BACKBONE", "HEAD"])
def test_bad_activation_lists_choices(part):
    with pytest.raises(
        ConfigError,
        match=rf"MODEL\.{part}\.ACTIVATION\.KIND = 'dyrelu_d' is not "
        r"valid; choose one of: static, dyrelu_a, dyrelu_b, dyrelu_c",
    ):
        get_config(None, [f"MODEL.{part}.ACTIVATION.KIND", "dyrelu_d"])


def test_odd_override_count():
    with pytest.raises(ConfigError, match=r"KEY VALUE pairs; got an odd count \(3\)"):
        get_config(None, ["MODEL.SIGMA", "2.0", "MODEL.NUM_JOINTS"])


def test_pieces_need_enough_init_values():
    opts = ["MODEL.HEAD.ACTIVATION.KIND", "dyrelu_c", "MODEL.HEAD.ACTIVATION.K", "3"]
    with pytest.raises(
        ConfigError,
        match=r"MODEL\.HEAD\.ACTIVATION\.K = 3 needs at least 3 "
        r"values in MODEL\.DYRELU\.INIT_ALPHA and INIT_BETA",
    ):
        get_config(None, opts)
    cfg = get_config(
        None,
        opts
        + [
            "MODEL.DYRELU.INIT_ALPHA",
            "[1.0, 0.0, 0.5]",
            "MODEL.DYRELU.INIT_BETA",
            "[0.0, 0.0, 0.0]",
        ],
    )
    assert cfg.MODEL.HEAD.ACTIVATION.K == 3
    # A static part ignores K.
    assert get_config(None, ["MODEL.BACKBONE.ACTIVATION.K", "5"]).MODEL.BACKBONE.ACTIVATION.K == 5


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        get_config(str(tmp_path / "nope.yaml"))
    with pytest.raises(ConfigError, match=r"bad\.yaml: not a valid yaml config"):
        get_config(_write(tmp_path, "MODEL: [unclosed\n", "bad.yaml"))


def test_experiment_files_load_with_paper_recipe():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    files = sorted(glob.glob(os.path.join(root, "experiments", "coco", "mobilenetv*", "*.yaml")))
    assert len(files) == 8
    for path in files:
        cfg = get_config(path)
        assert cfg.MODEL.IMAGE_SIZE == [192, 256] and cfg.MODEL.HEATMAP_SIZE == [48, 64]
        recipe = (cfg.TRAIN.LR, list(cfg.TRAIN.LR_STEP), cfg.TRAIN.END_EPOCH, cfg.MODEL.SIGMA)
        assert recipe == (1e-3, [170, 200], 210, 2.0)
        assert cfg.TRAIN.BATCH_SIZE_PER_GPU == 32 and cfg.TRAIN.OPTIMIZER == "adam"
        assert cfg.TEST.FLIP_TEST and not cfg.TEST.USE_GT_BBOX and cfg.MODEL.PRETRAINED == ""
        kind = "dyrelu_c" if "dyrelu_c" in path else "static"
        assert cfg.MODEL.BACKBONE.ACTIVATION.KIND == cfg.MODEL.HEAD.ACTIVATION.KIND == kind


def test_whole_numbers_are_accepted_for_float_keys(tmp_path):
    # yacs alone refuses "0" for a float key; people type it (TEST.IMAGE_THRE 0).
    path = tmp_path / "exp.yaml"
    path.write_text("TEST:\n  IMAGE_THRE: 1\n", encoding="utf-8")
    assert get_config(str(path)).TEST.IMAGE_THRE == 1.0
    cfg = get_config(None, ["TEST.IMAGE_THRE", "0", "TRAIN.END_EPOCH", "5"])
    assert isinstance(cfg.TEST.IMAGE_THRE, float) and cfg.TEST.IMAGE_THRE == 0.0
    assert isinstance(cfg.TRAIN.END_EPOCH, int) and cfg.TRAIN.END_EPOCH == 5
