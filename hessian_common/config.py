"""Configuration: one format, three layers.

Precedence, highest first: explicit arguments (CLI options) > environment variables >
the config file > defaults. The config file is TOML, ``$HESSIAN_CONFIG`` or
``$HESSIAN_HOME/config.toml``, with the same keys as :class:`Settings`::

    rpc_url = "http://127.0.0.1:8545"
    store = "embedded"            # or "kubo"
    store_dir = "/home/me/.hessian/store"
    kubo_url = "http://127.0.0.1:5001"

Each key ``k`` also reads the environment variable ``HESSIAN_<K>`` (``HESSIAN_RPC_URL``,
``HESSIAN_STORE``, ``HESSIAN_STORE_DIR``, ``HESSIAN_KUBO_URL``, ...).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from hessian_common.errors import ConfigError

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
"""The source checkout (contracts/, node_modules/, deployments/ live here in development)."""

IN_CHECKOUT = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "contracts").is_dir()
"""True when running from a source checkout (editable install), False for a wheel install.

The Solidity sources ship inside the package (``hessian_common/contracts`` is a link to the
checkout's ``contracts/`` and a directory of package data in a wheel). Outside a checkout the
node tools are looked for in ``./node_modules`` (set ``HESSIAN_NODE_MODULES`` otherwise), and
deployments and build artefacts live under ``$HESSIAN_HOME``.
"""


def hessian_home() -> Path:
    """``$HESSIAN_HOME`` or ``~/.hessian``: keys, journals, the embedded store."""
    return Path(os.environ.get("HESSIAN_HOME") or Path.home() / ".hessian").expanduser()


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Build with :func:`load_settings`."""

    home: Path
    rpc_url: str = "http://127.0.0.1:8545"
    store: str = "embedded"
    store_dir: Path | None = None
    kubo_url: str = "http://127.0.0.1:5001"
    deployments_dir: Path | None = None
    node_modules: Path | None = None
    contracts_dir: Path = PACKAGE_DIR / "contracts"
    build_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.store not in {"embedded", "kubo"}:
            raise ConfigError(f"store must be 'embedded' or 'kubo', not {self.store!r}")
        if not self.rpc_url.startswith(("http://", "https://", "ws://", "wss://")):
            raise ConfigError(f"rpc_url must be an http(s) or ws(s) URL, not {self.rpc_url!r}")
        if self.store_dir is None:
            object.__setattr__(self, "store_dir", self.home / "store")
        base = REPO_ROOT if IN_CHECKOUT else self.home
        if self.deployments_dir is None:
            object.__setattr__(self, "deployments_dir", base / "deployments")
        if self.build_dir is None:
            object.__setattr__(self, "build_dir", base / "build" / "contracts")
        if self.node_modules is None:
            modules = REPO_ROOT / "node_modules" if IN_CHECKOUT else Path.cwd() / "node_modules"
            object.__setattr__(self, "node_modules", modules)


_PATH_KEYS = {
    "home",
    "store_dir",
    "deployments_dir",
    "node_modules",
    "contracts_dir",
    "build_dir",
}


def _coerce(key: str, value: Any) -> Any:
    if value is None:
        return None
    return Path(str(value)).expanduser() if key in _PATH_KEYS else str(value)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Resolve settings from overrides, environment, config file and defaults.

    ``overrides`` with value ``None`` are ignored, so CLI options can be passed straight in.
    Raises :class:`ConfigError` on an unreadable file or an unknown key.
    """
    home = Path(overrides.get("home") or hessian_home()).expanduser()
    names = {f.name for f in fields(Settings)}
    path = Path(config_file or os.environ.get("HESSIAN_CONFIG") or home / "config.toml")
    values: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        unknown = set(data) - names
        if unknown:
            raise ConfigError(f"{path}: unknown keys {sorted(unknown)}; known: {sorted(names)}")
        values.update({k: _coerce(k, v) for k, v in data.items()})
    elif config_file:
        raise ConfigError(f"config file {path} does not exist")
    for name in names:
        env = os.environ.get(f"HESSIAN_{name.upper()}")
        if env:
            values[name] = _coerce(name, env)
    for key, value in overrides.items():
        if key not in names:
            raise ConfigError(f"unknown setting {key!r}")
        if value is not None:
            values[key] = _coerce(key, value)
    values["home"] = home
    return Settings(**values)


def with_overrides(settings: Settings, **changes: Any) -> Settings:
    """A copy of ``settings`` with some fields replaced (``None`` values ignored)."""
    return replace(settings, **{k: _coerce(k, v) for k, v in changes.items() if v is not None})
