"""Atomic file writing: nothing half-written survives a crash."""
from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "wb") -> Iterator:
    """Open a temp file beside ``path``; on success fsync and rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates 0600 files; give the result the permissions a plain open() would.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def atomic_write_text(path: PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def check_output_dir(path: PathLike, flag: str = "--out") -> Path:
    """``path`` as an output directory: refuse an existing file (``ConfigError`` naming ``flag``)."""
    from .errors import ConfigError

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{flag} {str(p)!r} is an existing file; expected a directory (or a path that does not exist)")
    for parent in p.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{flag} {str(p)!r}: {str(parent)!r} is a file; expected a directory path")
    return p


def check_output_file(path: PathLike, flag: str = "--json") -> Path:
    """``path`` as an output file: refuse an existing directory (``ConfigError`` naming ``flag``)."""
    from .errors import ConfigError

    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{flag} {str(p)!r} is an existing directory; expected a file path")
    for parent in p.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{flag} {str(p)!r}: {str(parent)!r} is a file; expected a directory path")
    return p
