"""The lender's local state: the directory layout, the records and the sealed secrets.

Layout (``$HESSIAN_HOME/company/`` by default)::

    company/
      keystore.json                  the lender's Ethereum key (eth-account keystore, scrypt)
      secret_key                     the web app's session key (0600)
      deployments/<chainId>-<address>/
          pending/<specCid>/         a model being created (before ``createModel`` is mined)
          models/<modelId>/
              record.json            what was created, scores, evaluations (no secret)
              paillier_key.json      the Paillier private key, sealed with the passphrase
              testset.csv            the private hold-out (preprocessed), kept until revealed
              salt                   the commitment salt (32 bytes, 0600)
              rows_key.json          the X25519 row key (opens owners' sealed row
                                     pseudonyms), sealed with the passphrase
              rows_seen.bin          pseudonyms of the rows of the accepted submissions

Records and secrets are written atomically (temporary file + rename) with mode 0600. The
passphrase for the sealed secrets comes from ``HESSIAN_COMPANY_PASSPHRASE`` (or a prompt);
:data:`DEV_PASSPHRASE` is accepted only on local demo chains.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.chain.client import create_keystore, dev_account, load_keystore
from hessian_common.config import hessian_home
from hessian_common.crypto import load_private_key, save_private_key
from hessian_common.crypto.sealing import open_key_at_rest, seal_key_at_rest
from hessian_common.errors import ConfigError
from hessian_common.files import write_private
from hessian_common.learning.spec import ModelSpec
from hessian_common.store.base import ContentStore
from hessian_common.tasks.testset import parse_test_set
from hessian_common.untrusted import MAX_BYTES, fetch

ENV_PASSPHRASE = "HESSIAN_COMPANY_PASSPHRASE"
DEV_PASSPHRASE = "hessian-local-demo"
"""Dev-only passphrase, accepted for local demo chains (Ganache 1337, anvil 31337, eth-tester)."""
LOCAL_CHAIN_IDS = frozenset({1337, 31337, 131277322940537})

KEY_FILE = "paillier_key.json"
TEST_SET_FILE = "testset.csv"
SALT_FILE = "salt"
RECORD_FILE = "record.json"
ROWS_KEY_FILE = "rows_key.json"
ROWS_SEEN_FILE = "rows_seen.bin"


@dataclass
class ModelRecord:
    """What the lender keeps locally about one of its models (no secret in here).

    ``versions`` lists the published encrypted models, oldest first:
    ``{"update_id": 0 for the initial model, "model_cid", "score"}``.
    """

    model_id: int
    name: str
    chain_id: int
    contract: str
    spec_cid: str
    initial_model_cid: str
    current_model_cid: str
    metric: str
    initial_score: float
    current_score: float
    target: float
    test_set_cid: str
    commitment: str
    params: dict[str, Any]
    feature_names: list[str]
    seed_rows: int
    holdout_rows: int
    created_at: float = field(default_factory=time.time)
    tx: str | None = None
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    versions: list[dict[str, Any]] = field(default_factory=list)
    revealed: bool = False
    transcript_cid: str | None = None
    candidates: dict[str, str] = field(default_factory=dict)
    """SHA-256 of every plaintext seen (published versions and evaluated candidates, see
    :func:`hessian_common.tasks.evaluate.candidate_digest`) -> what it was: a candidate equal
    to any of them is rejected as a copy."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelRecord:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


class LenderState:
    """The lender's local directory (see the module docstring for the layout)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else hessian_home() / "company"

    @property
    def keystore_path(self) -> Path:
        return self.root / "keystore.json"

    def deployment_dir(self, chain_id: int, contract: str) -> Path:
        return self.root / "deployments" / f"{int(chain_id)}-{contract.lower()}"

    def model_dir(self, chain_id: int, contract: str, model_id: int) -> Path:
        return self.deployment_dir(chain_id, contract) / "models" / str(int(model_id))

    def pending_dir(self, chain_id: int, contract: str) -> Path:
        return self.deployment_dir(chain_id, contract) / "pending"

    def ensure(self) -> None:
        """Create the root directory, private to this user."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            os.chmod(self.root, 0o700)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the lender state directory {self.root}: {exc}"
            ) from None

    def save_record(self, directory: Path, record: ModelRecord) -> None:
        write_private(directory / RECORD_FILE, json.dumps(record.to_dict(), indent=1).encode())

    def load_record(self, directory: Path) -> ModelRecord:
        path = directory / RECORD_FILE
        try:
            return ModelRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise ConfigError(f"no lender record at {path}") from None
        except (OSError, ValueError, TypeError) as exc:
            raise ConfigError(f"lender record {path} is unreadable: {exc}") from None

    def records(self, chain_id: int, contract: str) -> list[ModelRecord]:
        base = self.deployment_dir(chain_id, contract) / "models"
        if not base.is_dir():
            return []
        out = []
        for d in base.iterdir():
            if d.is_dir() and d.name.isdigit() and (d / RECORD_FILE).is_file():
                out.append(self.load_record(d))
        return sorted(out, key=lambda r: r.model_id)


class LocalModels:
    """This lender's models on one contract: records, sealed keys and hold-outs.

    Keys, hold-outs and parsed specs are cached in memory once opened (a spec CID always
    names the same spec). The passphrase is kept here only, and never shown.

    Parameters
    ----------
    state : LenderState
    chain_id, contract : the deployment the models belong to.
    passphrase : str
        Seals and opens the Paillier private keys.
    store : ContentStore
        Where the model specs are read from.
    """

    def __init__(
        self, state: LenderState, chain_id: int, contract: str, passphrase: str, store: ContentStore
    ):
        self.state = state
        self.chain_id = int(chain_id)
        self.contract = contract
        self.store = store
        self._passphrase = passphrase
        self._keys: dict[int, Any] = {}
        self._holdouts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._specs: dict[str, Any] = {}
        self._row_keys: dict[int, bytes] = {}

    def model_ids(self) -> list[int]:
        """Ids of the models with a local record on this contract, ascending."""
        return [r.model_id for r in self.records()]

    def __repr__(self) -> str:  # never shows the passphrase
        return f"LocalModels({self.state.root}, chain {self.chain_id}, contract {self.contract})"

    # ------------------------------------------------------------ records

    def dir(self, model_id: int) -> Path:
        """``.../models/<model_id>``."""
        return self.state.model_dir(self.chain_id, self.contract, int(model_id))

    def has(self, model_id: int) -> bool:
        """Whether a record (and key) is kept for ``model_id``."""
        return (self.dir(model_id) / RECORD_FILE).is_file()

    def record(self, model_id: int) -> ModelRecord:
        """The local record of ``model_id`` (:class:`ConfigError` if none)."""
        if not self.has(model_id):
            raise ConfigError(
                f"model #{model_id} has no local record in {self.state.root} (not created by "
                "this lender on this contract)"
            )
        return self.state.load_record(self.dir(model_id))

    def records(self) -> list[ModelRecord]:
        """All local records on this contract, by model id."""
        return self.state.records(self.chain_id, self.contract)

    def save(self, record: ModelRecord) -> None:
        """Write ``record`` back (atomically)."""
        self.state.save_record(self.dir(record.model_id), record)

    # ------------------------------------------------------------ secrets

    def private_key(self, model_id: int) -> Any:
        """The model's Paillier private key, unsealed with the passphrase (cached)."""
        if model_id not in self._keys:
            self._keys[model_id] = load_private_key(self.dir(model_id) / KEY_FILE, self._passphrase)
        return self._keys[model_id]

    def holdout(self, model_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The model's private hold-out ``(X, y)`` (preprocessed; cached)."""
        if model_id not in self._holdouts:
            X, y, _ = parse_test_set(self._read(model_id, TEST_SET_FILE, "the hold-out"))
            self._holdouts[model_id] = (X, y)
        return self._holdouts[model_id]

    def seal_secret(self, secret: bytes) -> dict[str, Any]:
        """``secret`` sealed at rest with the books' passphrase (scrypt + AES-256-GCM)."""
        return seal_key_at_rest(secret, self._passphrase)

    def open_secret(self, sealed: Mapping[str, Any]) -> bytes:
        """The secret :meth:`seal_secret` sealed (``KeyPassphraseError`` on a wrong one)."""
        return open_key_at_rest(dict(sealed), self._passphrase)

    def row_key(self, model_id: int) -> bytes | None:
        """The model's X25519 row key (None for a model created without one)."""
        path = self.dir(model_id) / ROWS_KEY_FILE
        if not path.is_file():
            return None
        if model_id not in self._row_keys:
            sealed = json.loads(self._read(model_id, ROWS_KEY_FILE, "the row key"))
            self._row_keys[model_id] = self.open_secret(sealed)
        return self._row_keys[model_id]

    def rows_seen(self, model_id: int) -> set[bytes]:
        """Pseudonyms of the rows already in the model (its accepted submissions)."""
        path = self.dir(model_id) / ROWS_SEEN_FILE
        raw = path.read_bytes() if path.is_file() else b""
        return {raw[i : i + 8] for i in range(0, len(raw), 8)}

    def add_rows_seen(self, model_id: int, pseudonyms: list[bytes]) -> None:
        """Record the rows of an accepted submission (appended, fsynced)."""
        path = self.dir(model_id) / ROWS_SEEN_FILE
        old = path.read_bytes() if path.is_file() else b""
        write_private(path, old + b"".join(pseudonyms))

    def reveal_material(self, model_id: int) -> tuple[bytes, bytes]:
        """The committed hold-out's bytes and the commitment salt."""
        data = self._read(model_id, TEST_SET_FILE, "the hold-out")
        return data, self._read(model_id, SALT_FILE, "the commitment salt")

    def spec(self, spec_cid: str) -> Any:
        """The parsed :class:`~hessian_common.learning.spec.ModelSpec` at ``spec_cid``."""
        if spec_cid not in self._specs:
            raw = fetch(self.store, spec_cid, what="model spec", max_bytes=MAX_BYTES["spec"])
            self._specs[spec_cid] = ModelSpec.from_bytes(raw)
        return self._specs[spec_cid]

    def _read(self, model_id: int, name: str, what: str) -> bytes:
        path = self.dir(model_id) / name
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None

    # ------------------------------------------------------------ a model being created

    def write_pending(
        self,
        spec_cid: str,
        private_key: Any,
        test_set: bytes,
        salt: bytes,
        record: ModelRecord,
        row_key: bytes | None = None,
    ) -> Path:
        """Seal the key, keep the hold-out, salt and record in ``pending/<spec_cid>/``.

        Written *before* ``createModel`` is sent, so a crash after the transaction never
        loses the key. Returns the pending directory.
        """
        pending = self.state.pending_dir(self.chain_id, self.contract) / spec_cid
        if pending.exists():
            shutil.rmtree(pending)
        pending.mkdir(parents=True)
        save_private_key(private_key, pending / KEY_FILE, self._passphrase)
        write_private(pending / TEST_SET_FILE, test_set)
        write_private(pending / SALT_FILE, salt)
        if row_key is not None:
            sealed = json.dumps(self.seal_secret(row_key), indent=1).encode()
            write_private(pending / ROWS_KEY_FILE, sealed)
        self.state.save_record(pending, record)
        return pending

    def commit_pending(
        self,
        pending: Path,
        record: ModelRecord,
        private_key: Any,
        holdout: tuple[np.ndarray, np.ndarray],
        spec: ModelSpec,
    ) -> Path:
        """The model is on chain (``record.model_id`` set): move ``pending`` to its model
        directory and keep its key, hold-out and spec in memory."""
        model_id = int(record.model_id)
        final = self.dir(model_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        self.state.save_record(pending, record)
        os.replace(pending, final)
        self._keys[model_id] = private_key
        self._holdouts[model_id] = holdout
        self._specs[record.spec_cid] = spec
        return final

    @staticmethod
    def discard_pending(pending: Path) -> None:
        """``createModel`` certainly failed: forget the pending model."""
        shutil.rmtree(pending, ignore_errors=True)


def resolve_passphrase(chain_id: int | None = None, passphrase: str | None = None) -> str:
    """The passphrase for the lender's secrets.

    ``passphrase`` if given, else ``$HESSIAN_COMPANY_PASSPHRASE``, else :data:`DEV_PASSPHRASE`
    on a local demo chain. Raises :class:`ConfigError` otherwise (callers may prompt).
    """
    value = passphrase or os.environ.get(ENV_PASSPHRASE)
    if value:
        if len(value) < 8:
            raise ConfigError("the lender passphrase must have at least 8 characters")
        return value
    if chain_id in LOCAL_CHAIN_IDS:
        return DEV_PASSPHRASE
    raise ConfigError(
        f"set {ENV_PASSPHRASE} (the passphrase of the lender's keys) for chain {chain_id}; "
        "the dev default is only for local demo chains"
    )


def lender_account(
    state: LenderState, passphrase: str, dev_index: int | None = None, create: bool = True
) -> Any:
    """The lender's Ethereum account (an eth-account ``LocalAccount``).

    ``dev_index`` picks a well-known dev account of the local chains (demo only); otherwise
    the keystore in the state directory is opened (and created on first use if ``create``).
    """
    if dev_index is not None:
        return dev_account(int(dev_index))
    path = state.keystore_path
    if path.is_file():
        return load_keystore(path, passphrase)
    if not create:
        raise ConfigError(f"no lender keystore at {path}")
    state.ensure()
    return create_keystore(path, passphrase)
