"""Atomic file writes: nothing DyPose writes is ever half-written."""

import contextlib
import json
import os
import tempfile
from typing import Any, Iterator, Type


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yields a temporary path beside `path`; renames it onto `path` on success.

    On an exception (or a kill mid-write) `path` keeps its previous content and the
    temporary file is removed where possible.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    os.close(fd)
    # mkstemp creates the file 0600; give it the mode a plain open() would (0666 - umask).
    os.chmod(tmp, 0o666 & ~_current_umask())
    try:
        yield tmp
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path: str, text: str) -> None:
    """Writes `text` to `path` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)


def read_json(path: str, what: str, error: Type[Exception] = ValueError, fix: str = "") -> Any:
    """Loads a json file; a missing or invalid one raises `error` naming the file.

    Args:
        path: the file.
        what: how messages name it ("annotation file", "results file", ...).
        error: the exception class raised (a ValueError subclass of the caller's module).
        fix: what the user should do, appended to the invalid-json message.
    """
    full = os.path.abspath(path)
    if not os.path.isfile(path):
        raise error(f"{what} not found: {full}")
    with open(path, encoding="utf-8") as f:
        try:
            return json.load(f)
        except json.JSONDecodeError as err:
            hint = f"; {fix}" if fix else ""
            raise error(f"{full} is not valid json (truncated or corrupt?): {err}{hint}") from err
