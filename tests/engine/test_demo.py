"""tools/demo.py wiring on a tiny set: data, training, table, drawings, and a rerun."""

import logging


def test_demo_end_to_end_and_rerun(tmp_path, repo_root, tool, capsys, caplog):
    caplog.set_level(logging.INFO)
    data = tmp_path / "data"
    tiny = [
        "MODEL.IMAGE_SIZE", "[32, 32]", "MODEL.HEATMAP_SIZE", "[8, 8]",
        "MODEL.BACKBONE.WIDTH", "0.25", "MODEL.HEAD.CHANNELS", "[16, 8, 8]",
        "MODEL.HEAD.EXPANSION", "2", "TRAIN.END_EPOCH", "1", "TRAIN.BATCH_SIZE_PER_GPU", "8",
        "WORKERS", "0", "OUTPUT_DIR", str(tmp_path / "out"), "LOG_DIR", str(tmp_path / "log"),
    ]  # fmt: skip
    args = ["--data", str(data), "--num-train", "4", "--num-val", "2", "--draw", "2"] + tiny
    main = tool("demo")["main"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "(detector boxes, flip test)" in printed and "| AP .75 |" in printed
    out = tmp_path / "out" / "synthetic" / "mobilenetv2_x0.5_dyrelu_c_128x96"
    assert len(list((out / "demo_images").iterdir())) == 2
    assert len(list((data / "images" / "val_synth").iterdir())) == 2

    # A rerun keeps the data and the finished training, and still prints the table.
    caplog.clear()
    assert main(args) == 0
    assert "found complete" in caplog.text and "nothing to train" in caplog.text
    assert "| AP .75 |" in capsys.readouterr().out
