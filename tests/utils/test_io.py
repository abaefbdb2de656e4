"""Atomic writes keep the old file when writing fails."""

import os

import pytest

from dypose.utils.io import atomic_path, atomic_write_text


def test_atomic_write_replaces(tmp_path):
    path = tmp_path / "out" / "a.json"
    atomic_write_text(str(path), "first")
    atomic_write_text(str(path), "second")
    assert path.read_text() == "second"
    assert os.listdir(path.parent) == ["a.json"]


def test_failed_write_keeps_old_content(tmp_path):
    path = tmp_path / "a.json"
    atomic_write_text(str(path), "old")
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_path(str(path)) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("boom")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.json"]


def test_written_file_has_the_umask_mode(tmp_path):
    # A plain open() gives 0666 minus the umask; mkstemp alone would leave 0600.
    previous = os.umask(0o022)
    try:
        atomic_write_text(str(tmp_path / "a.txt"), "x")
    finally:
        os.umask(previous)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644


def test_read_json_names_the_file_and_the_fix(tmp_path):
    from dypose.utils.io import read_json

    class ToyError(ValueError):
        pass

    good = tmp_path / "good.json"
    good.write_text('{"a": [1, 2]}')
    assert read_json(str(good), "toy file") == {"a": [1, 2]}
    with pytest.raises(ToyError, match=f"toy file not found: {tmp_path / 'missing.json'}"):
        read_json(str(tmp_path / "missing.json"), "toy file", ToyError)
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": [1,')
    with pytest.raises(ValueError, match=r"bad.json is not valid json .*; write it again"):
        read_json(str(bad), "toy file", fix="write it again")
