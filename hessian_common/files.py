"""The one writer of private files: secrets and anything only this user may read.

Every secret or private file of the code base goes through here: the apps' ``secret_key``,
Ethereum keystores, sealed Paillier private keys, the lender's local records, keys and
hold-outs, the lending desk's files, the borrower's applications and drafts, the owner's
uploads. A file is written

1. to a temporary file in the same directory, created with mode 0600 (``mkstemp``: never
   readable by others, not even for an instant);
2. flushed and ``fsync``-ed, so a crash or power cut after the call never leaves it empty;
3. moved into place atomically (``os.replace``; with ``exclusive=True`` by ``os.link``,
   which refuses an existing file), then the directory is ``fsync``-ed so the name lasts.

Readers see the old file or the new one, never a part.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

PRIVATE_MODE = 0o600


@contextlib.contextmanager
def private_file(path: str | os.PathLike[str], *, exclusive: bool = False) -> Iterator[BinaryIO]:
    """Write ``path`` through a binary handle, privately and atomically (module docstring).

    With ``exclusive`` an existing ``path`` is left alone and ``FileExistsError`` is raised
    (for files that must never be overwritten, e.g. a keystore). Nothing is left behind if the
    block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            os.link(tmp, path)
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def write_private(
    path: str | os.PathLike[str], data: bytes | str, *, exclusive: bool = False
) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` with mode 0600, fsync-ed, atomically; see
    :func:`private_file` for ``exclusive``. Returns the path."""
    with private_file(path, exclusive=exclusive) as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = ["PRIVATE_MODE", "private_file", "write_private"]
