"""``hessian store put|get|has|pin`` and ``hessian bench store``.

The backend is configuration only: ``--backend``/``--store-dir``/``--kubo-url`` override
``HESSIAN_STORE``/``HESSIAN_STORE_DIR``/``HESSIAN_KUBO_URL`` and the config file.
Failures (missing blob, tampered blob, store down, bad CID) print one line and exit non-zero.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from hessian_common.config import load_settings
from hessian_common.errors import StoreUnavailable
from hessian_common.store import ContentStore, EmbeddedStore, KuboStore, open_store


def _store_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the backend options to a command and pass it an opened ``store``."""

    @click.option(
        "--backend",
        type=click.Choice(["embedded", "kubo"]),
        default=None,
        help="Store backend (default: $HESSIAN_STORE or embedded).",
    )
    @click.option(
        "--store-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Embedded store directory (default: $HESSIAN_STORE_DIR or ~/.hessian/store).",
    )
    @click.option("--kubo-url", default=None, help="Kubo RPC API URL (default: $HESSIAN_KUBO_URL).")
    @click.option(
        "--timeout", type=float, default=30.0, show_default=True, help="Kubo request timeout (s)."
    )
    @functools.wraps(func)
    def wrapper(
        backend: str | None, store_dir: Path | None, kubo_url: str | None, timeout: float, **kw
    ) -> Any:
        settings = load_settings(store=backend, store_dir=store_dir, kubo_url=kubo_url)
        return func(store=open_store(settings, timeout=timeout), **kw)

    return wrapper


@click.group()
def store() -> None:
    """Content store: put and get blobs named by their IPFS CID (verified on read)."""


@store.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--pin", "pin_it", is_flag=True, help="Also pin the blob.")
@_store_options
def put(store: ContentStore, file: Path, pin_it: bool) -> None:
    """Store FILE ('-' for stdin) and print its CID (the last line of output)."""
    if str(file) == "-":
        data = click.get_binary_stream("stdin").read()
    else:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from exc
    cid = store.put(data)
    if pin_it:
        store.pin(cid)
    click.echo(cid)


@store.command()
@click.argument("cid")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file (atomically) instead of stdout.",
)
@_store_options
def get(store: ContentStore, cid: str, output: Path | None) -> None:
    """Fetch CID, verify it, and write the bytes to stdout or --output."""
    data = store.get(cid)
    if output is None:
        stream = click.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
        return
    _write_atomic(output, data)


def _write_atomic(path: Path, data: bytes) -> None:
    directory = path.resolve().parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise click.ClickException(f"cannot write {path}: {exc.strerror or exc}") from exc


@store.command()
@click.argument("cid")
@_store_options
def has(store: ContentStore, cid: str) -> None:
    """Print 'present' (exit 0) or 'absent' (exit 1)."""
    present = store.has(cid)
    click.echo("present" if present else "absent")
    if not present:
        raise click.exceptions.Exit(1)


@store.command()
@click.argument("cid")
@_store_options
def pin(store: ContentStore, cid: str) -> None:
    """Pin CID (it must be in the store)."""
    store.pin(cid)
    click.echo(f"pinned {cid}")


# --- benchmark ----------------------------------------------------------------------------

_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 10**6, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_size(text: str) -> int:
    """``"64KiB"`` -> 65536; ``"1MB"`` -> 1000000; plain numbers are bytes."""
    m = re.fullmatch(r"\s*(\d+)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS:
        raise click.BadParameter(f"{text!r} is not a size like 64KiB, 1MiB or 4096")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def _baseline_round_trip(directory: Path, blobs: list[bytes]) -> float:
    """Plain file write + fsync + read + sha256 of each blob; seconds."""
    start = time.perf_counter()
    for i, data in enumerate(blobs):
        path = directory / f"raw{i}"
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        hashlib.sha256(path.read_bytes()).digest()
    return time.perf_counter() - start


def _store_round_trip(store: ContentStore, blobs: list[bytes]) -> float:
    start = time.perf_counter()
    for data in blobs:
        if store.get(store.put(data)) != data:
            raise click.ClickException(f"{store!r} returned other bytes")
    return time.perf_counter() - start


def _kubo_reachable(url: str) -> KuboStore | None:
    kubo = KuboStore(url, timeout=3.0)
    try:
        kubo._call("version", {})
    except StoreUnavailable:
        return None
    except Exception:
        return None
    return KuboStore(url, timeout=60.0)


@click.command("store")
@click.option("--size", "sizes", default="64KiB,1MiB", show_default=True, help="Blob sizes.")
@click.option("--n", "n", type=click.IntRange(1), default=50, show_default=True)
@click.option("--kubo-url", default=None, help="Also bench this Kubo node (if it answers).")
def bench_store(sizes: str, n: int, kubo_url: str | None) -> None:
    """Round-trip put+get of N random blobs per size, against plain file write+fsync+read+sha256.

    The ratio is store time / baseline time (1.0 = as fast as the plain file).
    """
    from rich.console import Console
    from rich.table import Table

    size_list = [parse_size(s) for s in sizes.split(",") if s.strip()]
    url = kubo_url or load_settings().kubo_url
    kubo = _kubo_reachable(url)
    table = Table(title=f"store round-trip (put + get, verified), n={n} per size")
    for col in ("backend", "size", "per op (ms)", "MB/s", "baseline (ms)", "ratio"):
        table.add_column(col, justify="right" if col != "backend" else "left")
    with tempfile.TemporaryDirectory(prefix="hessian-bench-store-") as tmp:
        root = Path(tmp)
        for size in size_list:
            blobs = [os.urandom(size) for _ in range(n)]
            (root / "raw").mkdir(exist_ok=True)
            base = _baseline_round_trip(root / "raw", blobs)
            runs: list[tuple[str, ContentStore]] = [
                ("embedded", EmbeddedStore(root / f"embedded-{size}"))
            ]
            if kubo is not None:
                runs.append((f"kubo {url}", kubo))
            for name, st in runs:
                t = _store_round_trip(st, blobs)
                table.add_row(
                    name,
                    _human(size),
                    f"{1000 * t / n:.2f}",
                    f"{size * n / t / 1e6:.1f}",
                    f"{1000 * base / n:.2f}",
                    f"{t / base:.2f}x",
                )
    console = Console()
    console.print(table)
    if kubo is None:
        console.print(f"kubo: no node answered at {url}; only the embedded store was measured")


def _human(size: int) -> str:
    for unit, factor in (("MiB", 1024**2), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{unit}"
    return f"{size}B"
