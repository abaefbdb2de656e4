"""Tools turn user errors into one logged line and exit status 2."""

import logging

import pytest

from dypose.config import ConfigError
from dypose.utils.cli import DEBUG_ENV, run_tool


def _fails(error):
    def main():
        raise error

    return main


def test_user_error_is_one_line_and_status_2(caplog, monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with caplog.at_level(logging.ERROR):
        assert run_tool(_fails(ConfigError("x.yaml: unknown config key 'A.B'"))) == 2
    assert "ConfigError: x.yaml: unknown config key 'A.B'" in caplog.text
    assert run_tool(_fails(FileExistsError(17, "File exists", "/etc/hostname"))) == 2


def test_debug_env_reraises_and_bugs_keep_their_traceback(monkeypatch):
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(ConfigError, match="unknown"):
        run_tool(_fails(ConfigError("unknown")))
    monkeypatch.delenv(DEBUG_ENV)
    with pytest.raises(KeyError):
        run_tool(_fails(KeyError("a bug, not bad input")))


def test_status_passes_through():
    assert run_tool(lambda: 0) == 0
    assert run_tool(lambda: 130) == 130
