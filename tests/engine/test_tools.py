"""tools/test.py modes without a model: --results and --check."""

import logging

import pytest


def test_results_file_reproduces_published_ap(coco_sample, repo_root, tool, capsys):
    """coco_sample's README: AP 0.860890, AP .5 0.993145, AP .75 0.910891, AR 0.875."""
    main = tool("test")["main"]
    results = coco_sample / "results" / "keypoint_predictions_val2017.json"
    experiments = repo_root / "experiments" / "coco" / "mobilenetv2"
    cfg_file = str(experiments / "mobilenetv2_x0.5_static_256x192.yaml")
    code = main(["--cfg", cfg_file, "--results", str(results), "DATASET.ROOT", str(coco_sample)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    top = max(i for i, line in enumerate(lines) if line.startswith("| AP "))
    header = [c.strip() for c in lines[top].strip("|").split("|")]
    values = [float(c) for c in lines[top + 2].strip("|").split("|")]
    stats = dict(zip(header, values))
    assert stats["AP"] == pytest.approx(0.861, abs=5e-4)
    assert stats["AP .5"] == pytest.approx(0.993, abs=5e-4)
    assert stats["AR"] == pytest.approx(0.875, abs=5e-4)


def test_check_lists_every_bad_image(tmp_path, synthetic_root, write_cfg, tool, caplog):
    """A missing and an empty image are both reported, with full paths, in one run."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(synthetic_root, root)
    images = sorted((root / "images" / "val_synth").iterdir())
    images[0].unlink()
    images[1].write_bytes(b"")
    cfg_file = write_cfg(tmp_path / "check.yaml", tmp_path, DATASET__ROOT=str(root))
    caplog.set_level(logging.INFO)
    assert tool("test")["main"](["--cfg", cfg_file, "--check"]) == 1
    assert "2 bad image file(s)" in caplog.text
    assert str(images[0].resolve()) in caplog.text and str(images[1].resolve()) in caplog.text
