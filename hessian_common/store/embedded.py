"""The embedded store: a local directory of blobs named by their real IPFS CIDs.

Layout under ``root``::

    blobs/<xy>/<cid>    the bytes; <xy> = the two characters before the CID's last one
                        (like Kubo's flatfs "next-to-last/2" sharding)
    pins/<cid>          an empty marker: this blob was pinned

Safe for several processes sharing one directory (the company app and a data-owner app on one
machine): a blob is written to a temporary file in its final directory, flushed with
``fsync``, then moved into place with ``os.replace`` (atomic on POSIX). Readers see either no
file or the whole file; two writers of the same blob write identical bytes, and the last
rename wins harmlessly. A failed write removes its temporary file, so nothing is half-written.

Nothing is ever deleted (no garbage collection); pins only record intent, for a future GC or
for moving the blobs to Kubo (``ipfs add`` of each file gives the same CID).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from hessian_common.errors import BlobNotFound, BlobTooLarge, StoreUnavailable
from hessian_common.store.base import ContentStore
from hessian_common.store.cid import cid_of, parse_cid, verify
from hessian_common.types import CID


class EmbeddedStore(ContentStore):
    """Content store in the directory ``root`` (created on first write).

    Parameters
    ----------
    root : str or Path
        The store directory, e.g. ``$HESSIAN_STORE_DIR`` (default ``~/.hessian/store``).
    fsync : bool, default True
        Flush each blob to disk before it becomes visible. ``False`` is faster and still
        atomic against other processes, but a power cut may leave an empty file (caught as
        ``StoreIntegrityError`` on read).
    """

    def __init__(self, root: str | os.PathLike[str], fsync: bool = True):
        self.root = Path(root).expanduser()
        self.fsync = fsync

    def __repr__(self) -> str:
        return f"EmbeddedStore({str(self.root)!r})"

    def _blob_path(self, cid: CID) -> Path:
        return self.root / "blobs" / cid[-3:-1] / cid

    def _pin_path(self, cid: CID) -> Path:
        return self.root / "pins" / cid

    def _write_atomic(self, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise StoreUnavailable(f"cannot write to store directory {self.root}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                if self.fsync:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise StoreUnavailable(f"cannot write {path} in store {self.root}: {exc}") from exc
            raise
        if self.fsync:
            self._fsync_dir(path.parent)

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def put(self, data: bytes) -> CID:
        """Store ``data`` under its CID (see :meth:`ContentStore.put`).

        An existing blob that verifies is left alone; a corrupted one is replaced.
        """
        data = bytes(data)
        cid = cid_of(data)
        path = self._blob_path(cid)
        try:
            if path.read_bytes() == data:
                return cid
        except OSError:
            pass
        self._write_atomic(path, data)
        return cid

    def get(self, cid: CID | str, max_bytes: int | None = None) -> bytes:
        """Read and verify the blob ``cid`` (see :meth:`ContentStore.get`)."""
        cid = parse_cid(cid)
        path = self._blob_path(cid)
        try:
            if max_bytes is not None and (size := path.stat().st_size) > max_bytes:
                raise BlobTooLarge(
                    f"{cid} holds {size:,} bytes, more than the {max_bytes:,} allowed"
                )
            data = path.read_bytes()
        except FileNotFoundError:
            raise BlobNotFound(f"{cid} is not in the store at {self.root}") from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {path}: {exc}") from exc
        return verify(cid, data)

    def has(self, cid: CID | str) -> bool:
        """Whether the blob file exists (cheap; :meth:`get` verifies)."""
        return self._blob_path(parse_cid(cid)).is_file()

    def pin(self, cid: CID | str) -> None:
        """Record a pin marker for a blob this store holds."""
        cid = parse_cid(cid)
        if not self.has(cid):
            raise BlobNotFound(f"cannot pin {cid}: not in the store at {self.root}")
        self._write_atomic(self._pin_path(cid), b"")

    def pins(self) -> list[CID]:
        """CIDs pinned so far, sorted."""
        directory = self.root / "pins"
        if not directory.is_dir():
            return []
        return sorted(CID(p.name) for p in directory.iterdir() if not p.name.startswith("."))
