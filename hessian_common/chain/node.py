"""Start and stop a local development chain: Ganache (default) or anvil, from ``node_modules``.

Both run with the development mnemonic (:data:`~hessian_common.chain.client.DEV_MNEMONIC`),
ten accounts of 10,000 ETH, on 127.0.0.1. Ganache uses chain id 1337 and, with a state
directory, ``--database.dbPath`` so a restart keeps the chain; anvil uses chain id 31337 and
``--state <dir>/anvil-state.json`` (loaded at start, written every 10 s and at exit).

The binaries are run directly (never through ``npx``): ``node_modules/.bin/ganache`` and the
platform's native anvil from ``@foundry-rs/anvil-<platform>``. A started node is recorded in
``$HESSIAN_HOME/run/node.json`` (kind, PID, URL) and stopped by that PID only.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import requests

from hessian_common.chain.client import DEV_MNEMONIC
from hessian_common.config import Settings, load_settings
from hessian_common.errors import ChainError, ChainUnavailable, ConfigError

NODE_KINDS = ("ganache", "anvil")
CHAIN_IDS = {"ganache": 1337, "anvil": 31337}
DEV_BALANCE_ETH = 10_000
DEV_ACCOUNTS = 10
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class LocalNode:
    """A node we started (as written to the PID file)."""

    kind: str
    pid: int
    port: int
    url: str
    chain_id: int
    log_file: str
    state_dir: str | None = None
    command: list[str] = field(default_factory=list)


def _platform_tag() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )
    system = {"linux": "linux", "darwin": "darwin", "windows": "win32"}.get(
        platform.system().lower(), platform.system().lower()
    )
    return f"{system}-{arch}"


def node_binary(kind: str, node_modules: Path | None = None) -> Path:
    """Path of the ``ganache`` or ``anvil`` executable inside ``node_modules``.

    Raises :class:`ConfigError` if the kind is unknown or the package is not installed.
    """
    if kind not in NODE_KINDS:
        raise ConfigError(f"node kind must be one of {NODE_KINDS}, not {kind!r}")
    node_modules = Path(node_modules or load_settings().node_modules)
    if kind == "anvil":
        native = node_modules / "@foundry-rs" / f"anvil-{_platform_tag()}" / "bin" / "anvil"
        if native.exists():
            return native
    path = node_modules / ".bin" / kind
    if not path.exists():
        raise ConfigError(f"{path} not found; run `npm ci` (make setup) to install {kind}")
    return path


def node_command(
    kind: str, port: int, state_dir: Path | None = None, node_modules: Path | None = None
) -> list[str]:
    """The command line that starts a ``kind`` node on 127.0.0.1:``port``."""
    binary = str(node_binary(kind, node_modules))
    if kind == "ganache":
        cmd = [
            binary,
            "--server.host=127.0.0.1",
            f"--server.port={port}",
            f"--wallet.mnemonic={DEV_MNEMONIC}",
            f"--wallet.totalAccounts={DEV_ACCOUNTS}",
            f"--wallet.defaultBalance={DEV_BALANCE_ETH}",
            f"--chain.chainId={CHAIN_IDS['ganache']}",
            "--chain.hardfork=shanghai",
            "--logging.quiet",
        ]
        if state_dir is not None:
            cmd.append(f"--database.dbPath={Path(state_dir) / 'ganache-db'}")
        return cmd
    cmd = [
        binary,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--mnemonic",
        DEV_MNEMONIC,
        "--accounts",
        str(DEV_ACCOUNTS),
        "--balance",
        str(DEV_BALANCE_ETH),
        "--chain-id",
        str(CHAIN_IDS["anvil"]),
        "--silent",
    ]
    if state_dir is not None:
        cmd += ["--state", str(Path(state_dir) / "anvil-state.json"), "--state-interval", "10"]
    return cmd


def rpc_chain_id(url: str, timeout: float = 2.0) -> int:
    """Ask ``eth_chainId``; raises ``requests.RequestException``/``ValueError`` if no answer."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    reply = requests.post(url, json=body, timeout=timeout)
    return int(reply.json()["result"], 16)


def wait_for_rpc(
    url: str, timeout: float = START_TIMEOUT, proc: subprocess.Popen | None = None
) -> int:
    """Wait until ``url`` answers JSON-RPC; return its chain id.

    Raises :class:`ChainUnavailable` on timeout or if ``proc`` exits first.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ChainUnavailable(
                f"node process {proc.pid} exited ({proc.returncode}) before {url} answered"
            )
        try:
            return rpc_chain_id(url)
        except (requests.RequestException, ValueError, KeyError) as exc:
            last = exc
            time.sleep(0.2)
    raise ChainUnavailable(f"{url} did not answer JSON-RPC within {timeout:.0f}s: {last}")


def launch(
    kind: str,
    port: int,
    state_dir: Path | None = None,
    log_path: Path | None = None,
    node_modules: Path | None = None,
    detach: bool = False,
) -> subprocess.Popen:
    """Start the node process (not waiting for it); output goes to ``log_path`` or nowhere.

    ``detach`` puts it in its own session so it outlives the calling process (CLI use).
    """
    cmd = node_command(kind, port, state_dir, node_modules)
    if state_dir is not None:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        out = open(log_path, "ab")  # noqa: SIM115 - handed to the child, closed below
    else:
        out = subprocess.DEVNULL
    try:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
    finally:
        if log_path is not None:
            out.close()


def _run_dir(settings: Settings) -> Path:
    return settings.home / "run"


def _pid_file(settings: Settings) -> Path:
    return _run_dir(settings) / "node.json"


def _is_our_process(pid: int, binary: str | None) -> bool:
    """Alive, and (where /proc exists) still running our binary: PIDs get reused."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if binary and cmdline.exists():
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        name = Path(binary).name.encode()
        return any(Path(a.decode(errors="replace")).name.encode() == name for a in args[:3])
    return True


def node_status(settings: Settings | None = None) -> tuple[LocalNode | None, bool]:
    """``(recorded node or None, whether its process is alive)``."""
    settings = settings or load_settings()
    path = _pid_file(settings)
    if not path.exists():
        return None, False
    try:
        node = LocalNode(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise ChainError(f"PID file {path} is unreadable: {exc}; delete it") from exc
    return node, _is_our_process(node.pid, node.command[0] if node.command else None)


def start_node(
    kind: str = "ganache",
    port: int = 8545,
    state_dir: Path | None = None,
    settings: Settings | None = None,
    timeout: float = START_TIMEOUT,
) -> LocalNode:
    """Start a detached local node, wait until it answers, record it; return it.

    Raises
    ------
    ChainError
        A node we started is still running, or the port is taken by something else.
    ChainUnavailable
        The node did not answer in time (it is stopped again; see the log file).
    """
    settings = settings or load_settings()
    existing, alive = node_status(settings)
    if existing and alive:
        raise ChainError(
            f"a {existing.kind} node (PID {existing.pid}) is already running at {existing.url}; "
            "`hessian node stop` first"
        )
    url = f"http://127.0.0.1:{port}"
    try:
        rpc_chain_id(url, timeout=1.0)
    except (requests.RequestException, ValueError, KeyError):
        pass
    else:
        raise ChainError(f"port {port} already answers JSON-RPC ({url}); choose another --port")
    run_dir = _run_dir(settings)
    log_file = run_dir / f"{kind}.log"
    state = Path(state_dir).expanduser().resolve() if state_dir else None
    proc = launch(kind, port, state, log_file, settings.node_modules, detach=True)
    try:
        chain_id = wait_for_rpc(url, timeout, proc)
    except ChainUnavailable as exc:
        terminate_pid(proc.pid)
        raise ChainUnavailable(f"{exc} (log: {log_file})") from exc
    node = LocalNode(
        kind=kind,
        pid=proc.pid,
        port=port,
        url=url,
        chain_id=chain_id,
        log_file=str(log_file),
        state_dir=str(state) if state else None,
        command=[str(a) for a in proc.args],
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    _pid_file(settings).write_text(json.dumps(asdict(node), indent=2), encoding="utf-8")
    return node


def _exited(pid: int, proc: subprocess.Popen | None) -> bool:
    """True once ``pid`` has exited (reaped through ``proc`` or ``waitpid`` when it is ours)."""
    if proc is not None:
        return proc.poll() is not None
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == pid
    except ChildProcessError:  # not our child (started by another CLI call)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def terminate_pid(pid: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    """Stop one process we started, by its PID: SIGTERM, wait up to ``timeout``, then SIGKILL.

    SIGTERM first lets a node write its state (anvil's ``--dump-state``, Ganache's database).
    Pass ``proc`` when this process holds the :class:`subprocess.Popen`, so the exit is reaped.
    """
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exited(pid, proc):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if proc is not None:
        proc.wait(timeout=timeout)


def stop_node(settings: Settings | None = None) -> LocalNode | None:
    """Stop the recorded node by its PID and remove the PID file; return it (None: none)."""
    settings = settings or load_settings()
    node, alive = node_status(settings)
    if node is None:
        return None
    if alive:
        terminate_pid(node.pid)
    _pid_file(settings).unlink(missing_ok=True)
    return node
