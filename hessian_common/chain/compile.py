"""Compile the Solidity sources with the pinned npm ``solc`` (solc-js) through standard JSON.

The compiler is the WebAssembly build in ``node_modules/solc`` (version pinned in
``package.json``), driven by ``node`` with a ten-line script: no native binary is downloaded
at run time. Settings: ``evmVersion`` shanghai (PUSH0, no transient storage; runs on py-evm,
Ganache 7.9 and anvil), optimizer on (200 runs).

Libraries come from npm, pinned exactly in ``package.json`` (OpenZeppelin Contracts 5.4.0, the
newest whose ERC-20 permit closure compiles for shanghai: 5.5 and later use the Cancun
``mcopy``), and are resolved by import remapping: ``import "@openzeppelin/contracts/..."`` maps
to ``node_modules/@openzeppelin/contracts/...`` (:data:`REMAPPINGS`). Every imported file is
read here and passed in the standard JSON (solc-js has no file system of its own); only our own
contracts are in the output.

Artefacts (ABI, creation and runtime bytecode, source hash) are cached under
``build/contracts/``, keyed by the SHA-256 of the standard-JSON input and the compiler
version, so a second run costs a file read instead of a ~5 s compile.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hessian_common.config import load_settings
from hessian_common.errors import ChainError, ConfigError

SOLC_VERSION = "0.8.28"
"""The compiler version ``package.json`` pins; a different ``node_modules/solc`` is refused."""

EVM_VERSION = "shanghai"
OPTIMIZER_RUNS = 200

REMAPPINGS = ("@openzeppelin/=node_modules/@openzeppelin/",)
"""Import prefixes served from ``node_modules`` (``prefix=target``)."""

_IMPORT = re.compile(r'^\s*import\s+(?:[^"\']*?\s+from\s+)?["\']([^"\']+)["\']', re.MULTILINE)

_DRIVER = """
const solc = require(process.env.HESSIAN_SOLC_PATH);
if (process.argv.includes('--version')) { process.stdout.write(solc.version()); process.exit(0); }
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  process.stdout.write(solc.compile(Buffer.concat(chunks).toString('utf8')));
});
"""


@dataclass(frozen=True)
class Artifact:
    """One compiled contract.

    Attributes
    ----------
    name : str
        Contract name (``"ModelRepository"``).
    source : str
        Source unit, relative to the contracts directory (``"ModelRepository.sol"``).
    abi : list of dict
        The JSON ABI.
    bytecode : str
        Creation bytecode, ``0x``-prefixed hex.
    deployed_bytecode : str
        Runtime bytecode, ``0x``-prefixed hex.
    source_hash : str
        SHA-256 of the standard-JSON input the artefact was compiled from.
    compiler : str
        Full solc version string.
    """

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    source_hash: str
    compiler: str

    @property
    def abi_hash(self) -> str:
        """SHA-256 (hex) of the canonical JSON of the ABI: identifies the interface."""
        return abi_sha256(self.abi)


def abi_sha256(abi: list[dict[str, Any]]) -> str:
    """SHA-256 hex digest of ``json.dumps(abi, sort_keys=True, separators=(",", ":"))``."""
    canonical = json.dumps(abi, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise ConfigError("node is not on PATH; install Node.js (make setup does) to compile")
    return node


def _solc_path(node_modules: Path) -> Path:
    path = node_modules / "solc"
    if not (path / "package.json").exists():
        raise ConfigError(f"npm solc not found in {node_modules}; run `npm ci` (make setup)")
    version = json.loads((path / "package.json").read_text())["version"]
    if version != SOLC_VERSION:
        raise ConfigError(f"{path} is solc {version}, but Hessian pins {SOLC_VERSION}; npm ci")
    return path


def _run_solc(node_modules: Path, args: list[str], stdin: str = "") -> str:
    env = {**os.environ, "HESSIAN_SOLC_PATH": str(_solc_path(node_modules))}
    try:
        out = subprocess.run(
            [_node_binary(), "-e", _DRIVER, "--", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ChainError("solc-js did not finish within 300 s") from exc
    if out.returncode != 0:
        raise ChainError(f"solc-js failed (exit {out.returncode}): {out.stderr.strip()[-2000:]}")
    return out.stdout


def solc_version(node_modules: Path | None = None) -> str:
    """Full version string of the npm compiler (``0.8.28+commit.7893614a.Emscripten.clang``)."""
    return _run_solc(node_modules or load_settings().node_modules, ["--version"]).strip()


def standard_input(sources: dict[str, str], libraries: dict[str, str] | None = None) -> dict:
    """The standard-JSON input for ``sources`` (unit name -> Solidity text), with the
    ``libraries`` they import (remapped unit name -> text), output for ``sources`` only."""
    units = {**(libraries or {}), **sources}
    wanted = ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(units.items())},
        "settings": {
            "evmVersion": EVM_VERSION,
            "optimizer": {"enabled": True, "runs": OPTIMIZER_RUNS},
            "remappings": list(REMAPPINGS),
            "outputSelection": {name: {"*": wanted} for name in sorted(sources)},
        },
    }


def _remap(path: str) -> str | None:
    for rule in REMAPPINGS:
        prefix, target = rule.split("=", 1)
        if path.startswith(prefix):
            return target + path[len(prefix) :]
    return None


def _library_sources(sources: dict[str, str], root: Path) -> dict[str, str]:
    """Every library file the ``sources`` import, transitively: remapped unit name -> text.

    ``root`` is the directory holding ``node_modules`` (the remapping targets are relative to
    it). Relative imports inside a library resolve against the importing unit.
    """
    out: dict[str, str] = {}
    todo = [(name, text) for name, text in sources.items()]
    while todo:
        unit, text = todo.pop()
        for target in _IMPORT.findall(text):
            if target.startswith("."):
                if unit not in out:
                    continue  # our own relative imports are in ``sources`` already
                name = posixpath.normpath(posixpath.join(posixpath.dirname(unit), target))
            else:
                name = _remap(target)
                if name is None:
                    continue  # one of our own units
            if name in out:
                continue
            path = root / name
            try:
                out[name] = path.read_text(encoding="utf-8")
            except OSError:
                raise ConfigError(
                    f"{unit} imports {target!r}, not found at {path}: run `npm ci`"
                ) from None
            todo.append((name, out[name]))
    return out


def _read_sources(contracts_dir: Path) -> dict[str, str]:
    if not contracts_dir.is_dir():
        raise ConfigError(f"contracts directory {contracts_dir} does not exist")
    files = sorted(contracts_dir.rglob("*.sol"))
    if not files:
        raise ConfigError(f"no .sol files under {contracts_dir}")
    return {p.relative_to(contracts_dir).as_posix(): p.read_text(encoding="utf-8") for p in files}


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def compile_contracts(
    contracts_dir: Path | None = None,
    build_dir: Path | None = None,
    node_modules: Path | None = None,
    force: bool = False,
) -> dict[str, Artifact]:
    """Compile every ``*.sol`` under ``contracts_dir`` (recursively) and return the artefacts.

    Parameters
    ----------
    contracts_dir, node_modules : Path, optional
        Default to the settings (``contracts/`` and ``node_modules/`` of the checkout).
    build_dir : Path, optional
        Cache directory, default the settings' ``build_dir`` (``build/contracts/`` of the checkout).
    force : bool
        Recompile even when the cache holds this exact input.

    Returns
    -------
    dict of str to Artifact
        Keyed by contract name (names must be unique across files).

    Raises
    ------
    ChainError
        The compiler reported errors (the message holds solc's formatted errors).
    ConfigError
        ``node``, the npm compiler or the sources are missing.
    """
    settings = load_settings()
    contracts_dir = Path(contracts_dir or settings.contracts_dir)
    node_modules = Path(node_modules or settings.node_modules)
    build_dir = Path(build_dir or settings.build_dir)
    sources = _read_sources(contracts_dir)
    std_input = standard_input(sources, _library_sources(sources, node_modules.parent))
    text = json.dumps(std_input, sort_keys=True)
    key = hashlib.sha256(f"{SOLC_VERSION}\n{text}".encode()).hexdigest()
    cache = build_dir / f"{key}.json"
    if cache.exists() and not force:
        data = json.loads(cache.read_text(encoding="utf-8"))
        return {name: Artifact(**art) for name, art in data.items()}

    output = json.loads(_run_solc(node_modules, [], stdin=text))
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        msg = "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors)
        raise ChainError(f"solc reported errors compiling {contracts_dir}:\n{msg}")
    version = solc_version(node_modules)
    artifacts: dict[str, Artifact] = {}
    for source, contracts in output.get("contracts", {}).items():
        for name, out in contracts.items():
            if name in artifacts:
                raise ChainError(f"contract name {name} is defined twice ({source})")
            artifacts[name] = Artifact(
                name=name,
                source=source,
                abi=out["abi"],
                bytecode="0x" + out["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + out["evm"]["deployedBytecode"]["object"],
                source_hash=key,
                compiler=version,
            )
    payload = {name: asdict(art) for name, art in artifacts.items()}
    _write_atomic(cache, json.dumps(payload))
    for name, art in payload.items():
        _write_atomic(build_dir / f"{name}.json", json.dumps(art, indent=1))
    return artifacts


def load_artifact(name: str = "ModelRepository", **kwargs: Any) -> Artifact:
    """The artefact of one contract, compiling (or reading the cache) as needed.

    Raises :class:`ChainError` if no contract of that name exists under the sources.
    """
    artifacts = compile_contracts(**kwargs)
    try:
        return artifacts[name]
    except KeyError:
        raise ChainError(f"no contract {name!r}; compiled: {sorted(artifacts)}") from None
