"""The lender's workflow: post a training task, evaluate submissions, close, reclaim, reveal, audit.

UI-free: the company app, the CLI demo and the simulation all call this module.

Protocol (see ``docs/architecture.md`` and ``DESIGN.md``)::

    create_task   data -> seed / private hold-out (stratified split)
                  Preprocessor.fit(seed);  X = transform(.)  (column 0 is the intercept)
                  w0 = argmin logistic loss on (X_seed, y_seed)          (scikit-learn)
                  s0 = metric(y_hold, sigmoid(X_hold · w0))              (initial score)
                  (pk, sk) = Paillier keys;  enc(w0) published in the model spec
                  commitment = keccak256(testSetCid || salt)             (commit, reveal later)
                  createModel(specCid, metric, s0, target, ..., commitment) + bounty
    evaluate      blob = store.get(updateCid);  w' = D(enc(w'))
                  s' = metric(y_hold, sigmoid(X_hold · w'))
                  accepted = acceptance rule (s' beats the current score)
                  evaluateUpdate(updateId, accepted, s', newModelCid)
    reveal        store.put(test set) == testSetCid;  revealTestSet(modelId, testSetCid, salt)
    audit         anyone: commitment check, then every recorded score re-computed

Local state (``$HESSIAN_HOME/company/`` by default, see :class:`LenderState`)::

    company/
      keystore.json                  the lender's Ethereum key (eth-account keystore, scrypt)
      secret_key                     the web app's session key (0600)
      deployments/<chainId>-<address>/models/<modelId>/
          record.json                what was created, scores, evaluations (no secret)
          paillier_key.json          the Paillier private key, sealed with the passphrase
          testset.csv                the private hold-out (preprocessed), kept until revealed
          salt                       the commitment salt (32 bytes, 0600)

The passphrase for the sealed secrets comes from ``HESSIAN_COMPANY_PASSPHRASE`` (or a
prompt). :data:`DEV_PASSPHRASE` is accepted only on local demo chains.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.config import hessian_home
from hessian_common.errors import (
    ChainError,
    ConfigError,
    ContractRevert,
    CryptoError,
    DataError,
    HessianError,
)
from hessian_common.types import CID, PPM, Wei, from_ppm, to_ppm

log = logging.getLogger(__name__)

ENV_PASSPHRASE = "HESSIAN_COMPANY_PASSPHRASE"
DEV_PASSPHRASE = "hessian-local-demo"
"""Dev-only passphrase, accepted for local demo chains (Ganache 1337, anvil 31337, eth-tester)."""
LOCAL_CHAIN_IDS = frozenset({1337, 31337, 131277322940537})

METRICS = ("auc", "accuracy")
MECHANISMS = ("improvement", "equal", "pro_rata_rows")
UPDATE_RULES = ("gradient", "epochs", "newton")
"""The learning room's rules: one gradient step, K local epochs, a proximal Newton step."""
KEY_SIZES = (512, 768, 1024, 1536, 2048, 3072, 4096)
MIN_PART_ROWS = 20
"""Fewest rows (and at least 2 defaults) in the seed and in the hold-out part."""
GAS_RESERVE_WEI = 10**16
"""Kept out of the bounty check (0.01 ETH) so the lender can still pay for its transactions."""

ProgressFn = Callable[..., None]


def _no_progress(*_args: Any, **_kwargs: Any) -> None:
    return None


# --------------------------------------------------------------------------- errors


class TaskInputError(ConfigError):
    """Inputs of a task are invalid; ``errors`` maps each form field to its message.

    Raised before anything is written or sent.
    """

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class TaskParams:
    """What the lender decides when posting a task.

    Attributes
    ----------
    name : str
        A label for people (kept in the spec and the local record).
    bounty_wei : int
        Escrowed with ``createModel``.
    metric : {"auc", "accuracy"}
    target : float
        Target score in (0, 1]; must be above the initial model's score.
    mechanism : {"improvement", "equal", "pro_rata_rows"}
    deadline : int
        Unix time (seconds) after which no submission is taken.
    evaluation_window : int
        Seconds the lender has to evaluate a submission before it may be settled as stale.
    deposit_wei : int
        Anti-spam deposit each submission sends (0: none).
    key_size : int
        Paillier modulus bits (2048 by default; smaller only for tests and demos).
    update_rule : {"gradient", "epochs", "newton"}
        ``enc(w') = P·enc(w) + q`` with ``P = I − ηA`` (one step), ``P = (I − ηA)^K``
        (K local epochs) or ``P = μ(A + μI)⁻¹`` (proximal Newton), ``A = XᵀX/(4N)``.
    hyper : mapping
        The rule's hyper-parameters: ``lr`` (η), ``epochs`` (K), ``mu`` (μ), ``l2`` (ridge);
        keys the rule does not use are dropped (see :meth:`rule_params`).
    tolerance : float
        Acceptance rule: a candidate is accepted iff its hold-out score is at least
        ``current − tolerance`` (the learning room's :func:`evaluate_candidate`).
    data_path, data_bytes : the lender's loan data: a CSV path, or the bytes of an upload.
    holdout_fraction : float
        Share of rows kept as the private hold-out (stratified), in [0.05, 0.8].
    split_seed : int
        Seed of the split (the same data and seed give the same split).
    schema : str
        Schema name or TOML path (``lending_club``).
    """

    name: str
    bounty_wei: int
    metric: str
    target: float
    mechanism: str
    deadline: int
    evaluation_window: int
    deposit_wei: int = 0
    key_size: int = 2048
    update_rule: str = "gradient"
    hyper: Mapping[str, float] = field(default_factory=dict)
    data_path: Path | None = None
    data_bytes: bytes | None = None
    data_name: str = "upload.csv"
    holdout_fraction: float = 0.3
    split_seed: int = 0
    schema: str = "lending_club"
    tolerance: float = 0.0

    def rule_params(self) -> dict[str, float]:
        """The hyper-parameters the chosen rule takes (over the learning room's defaults)."""
        from hessian_common.learning.updates import DEFAULT_PARAMS

        allowed = DEFAULT_PARAMS.get(self.update_rule, {})
        out = {k: float(v) for k, v in self.hyper.items() if k in allowed and v is not None}
        if "epochs" in out:
            out["epochs"] = int(out["epochs"])
        return out

    def check(self, balance_wei: int | None = None, now: int | None = None) -> dict[str, str]:
        """Field -> message for every invalid input (empty: all fine). Reads no data file."""
        errors: dict[str, str] = {}
        now = int(time.time()) if now is None else int(now)
        if not 3 <= len(self.name.strip()) <= 80:
            errors["name"] = "give a name of 3 to 80 characters"
        if int(self.bounty_wei) <= 0:
            errors["bounty_eth"] = "the bounty must be more than 0"
        elif balance_wei is not None and int(self.bounty_wei) + GAS_RESERVE_WEI > balance_wei:
            errors["bounty_eth"] = (
                f"the bounty ({self.bounty_wei / 1e18:g} ETH) is more than the account balance "
                f"({balance_wei / 1e18:.4f} ETH) less a gas reserve of {GAS_RESERVE_WEI / 1e18:g}"
            )
        if int(self.bounty_wei) >= 2**128:
            errors["bounty_eth"] = "the bounty is too large"
        if self.metric not in METRICS:
            errors["metric"] = f"metric must be one of {', '.join(METRICS)}"
        if not (isinstance(self.target, int | float) and 0 < self.target <= 1):
            errors["target"] = "the target must be a score in (0, 1]"
        if self.mechanism not in MECHANISMS:
            errors["mechanism"] = f"mechanism must be one of {', '.join(MECHANISMS)}"
        if int(self.deadline) <= now + 60:
            errors["deadline"] = "the deadline must be at least a minute in the future"
        elif int(self.deadline) >= 2**40:
            errors["deadline"] = "the deadline is too far in the future"
        if not 1 <= int(self.evaluation_window) < 2**32:
            errors["eval_window_hours"] = "the evaluation window must be at least one second"
        if not 0 <= int(self.deposit_wei) < 2**96:
            errors["deposit_eth"] = "the deposit must be 0 or more (and below 2^96 wei)"
        if int(self.key_size) not in KEY_SIZES:
            errors["key_size"] = f"key size must be one of {KEY_SIZES}"
        if self.update_rule not in UPDATE_RULES:
            errors["update_rule"] = f"update rule must be one of {', '.join(UPDATE_RULES)}"
        errors.update(_check_hyper(self.hyper))
        if not 0 <= float(self.tolerance) < 1:
            errors["tolerance"] = "the acceptance tolerance must be in [0, 1)"
        if not 0.05 <= float(self.holdout_fraction) <= 0.8:
            errors["holdout_fraction"] = "the hold-out fraction must be between 0.05 and 0.8"
        if self.data_bytes is None and self.data_path is None:
            errors["data"] = "give the lender's loan data (an upload or a file path)"
        elif self.data_bytes is not None and self.data_path is not None:
            errors["data"] = "give either an upload or a file path, not both"
        elif self.data_path is not None and not Path(self.data_path).is_file():
            errors["data"] = f"{self.data_path}: no such file"
        elif self.data_bytes is not None and not self.data_bytes.strip():
            errors["data"] = f"{self.data_name}: the file is empty"
        return errors

    def public_dict(self) -> dict[str, Any]:
        """The parameters worth recording (no data bytes)."""
        d = asdict(self)
        d.pop("data_bytes")
        d["data_path"] = str(self.data_path) if self.data_path else None
        d["hyper"] = dict(self.hyper)
        return d


def _check_hyper(hyper: Mapping[str, float]) -> dict[str, str]:
    errors: dict[str, str] = {}
    checks = {
        "lr": lambda v: 0 < v <= 100,
        "epochs": lambda v: float(v).is_integer() and 1 <= v <= 1000,
        "mu": lambda v: 0 < v <= 1e6,
        "l2": lambda v: 0 <= v <= 1e3,
    }
    unknown = set(hyper) - set(checks)
    if unknown:
        errors["hyper"] = f"unknown hyper-parameters {sorted(unknown)}; known: {sorted(checks)}"
    for key, ok in checks.items():
        if key in hyper and hyper[key] is not None:
            try:
                value = float(hyper[key])
            except (TypeError, ValueError):
                errors[key] = f"{key} must be a number"
                continue
            if not math.isfinite(value) or not ok(value):
                errors[key] = f"{key} = {hyper[key]!r} is out of range"
    return errors


# --------------------------------------------------------------------------- local state


@dataclass
class EvaluationResult:
    """The lender's verdict on one submission, as recorded on chain."""

    update_id: int
    model_id: int
    accepted: bool
    score: float
    previous_score: float
    model_cid: str | None
    reason: str
    tx: str | None = None
    at: float = field(default_factory=time.time)

    @property
    def gain(self) -> float:
        """Score change against the model current when it was evaluated."""
        return self.score - self.previous_score


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
    audit_bundle_cid: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ModelRecord:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in names})


class LenderState:
    """The lender's local directory (see the module docstring for the layout).

    Records are written atomically (temporary file + rename); secrets with mode 0600.
    """

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
        _atomic_write(directory / "record.json", json.dumps(record.to_dict(), indent=1).encode())

    def load_record(self, directory: Path) -> ModelRecord:
        path = directory / "record.json"
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
            if d.is_dir() and d.name.isdigit() and (d / "record.json").is_file():
                out.append(self.load_record(d))
        return sorted(out, key=lambda r: r.model_id)


def _atomic_write(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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
    from hessian_common.chain.client import create_keystore, dev_account, load_keystore

    if dev_index is not None:
        return dev_account(int(dev_index))
    path = state.keystore_path
    if path.is_file():
        return load_keystore(path, passphrase)
    if not create:
        raise ConfigError(f"no lender keystore at {path}")
    state.ensure()
    return create_keystore(path, passphrase)


# --------------------------------------------------------------------------- helpers


def test_set_bytes(X: np.ndarray, y: np.ndarray, feature_names: list[str]) -> bytes:
    """The canonical bytes of the hold-out that the commitment binds.

    A CSV: header ``label,<feature names>``, one row per loan of the *preprocessed* design
    matrix (floats as ``repr``, exact round-trip), ``\\n`` line ends. Anyone can read it back
    with :func:`parse_test_set` and score a model on it without the lender's raw data layout.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["label", *feature_names])
    for label, row in zip(np.asarray(y).astype(int), np.asarray(X, dtype=float), strict=True):
        writer.writerow([int(label), *(repr(float(v)) for v in row)])
    return buf.getvalue().encode("utf-8")


test_set_bytes.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def parse_test_set(data: bytes) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Inverse of :func:`test_set_bytes`: ``(X, y, feature_names)``; :class:`DataError` if bad."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
        header, body = rows[0], rows[1:]
        if not header or header[0] != "label" or not body:
            raise ValueError("expected a 'label' column and at least one row")
        if any(len(r) != len(header) for r in body):
            raise ValueError("rows and header have different widths")
        y = np.array([int(r[0]) for r in body], dtype=int)
        X = np.array([[float(v) for v in r[1:]] for r in body], dtype=float)
    except (UnicodeDecodeError, ValueError, IndexError) as exc:
        raise DataError(f"test set is not in the expected CSV form: {exc}") from None
    return X, y, header[1:]


def _enum_name(value: Any) -> str:
    return getattr(value, "name", str(value)).lower()


METRIC_LABELS = {"auc": "ROC AUC", "accuracy": "Accuracy"}
MECHANISM_LABELS = {
    "improvement": "Paid per improvement",
    "equal": "Equal shares",
    "pro_rata_rows": "Shares pro rata to rows",
}
RULE_LABELS = {
    "gradient": "one gradient step",
    "epochs": "K local epochs",
    "newton": "proximal Newton step",
}


# --------------------------------------------------------------------------- read models


@dataclass(frozen=True)
class AccountSummary:
    """The lender's account as the dashboard shows it."""

    address: str
    balance: int
    pending: int
    chain_id: int
    contract: str
    key_source: str
    state_dir: str


@dataclass(frozen=True)
class ModelSummary:
    """One of the lender's models: local record joined with the chain state."""

    model_id: int
    name: str
    status: str
    """``open``, ``closed`` (submissions still waiting) or ``finalized``."""
    metric: str
    mechanism: str
    update_rule: str
    initial_score: float
    current_score: float
    target: float
    bounty: int
    remaining: int
    paid: int
    reclaimed: int
    waiting: int
    submissions: int
    accepted: int
    rejected: int
    deadline: int
    evaluation_window: int
    deposit: int
    revealed: bool
    can_reclaim: bool
    spec_cid: str
    current_model_cid: str
    test_set_cid: str
    commitment: str
    seed_rows: int
    holdout_rows: int
    key_size: int

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS.get(self.metric, self.metric)

    @property
    def mechanism_label(self) -> str:
        return MECHANISM_LABELS.get(self.mechanism, self.mechanism)

    @property
    def update_rule_label(self) -> str:
        return RULE_LABELS.get(self.update_rule, self.update_rule)


@dataclass(frozen=True)
class SubmissionRow:
    """One submission as the model page lists it."""

    update_id: int
    owner: str
    rows: int
    submitted_at: int
    status: str
    stale: bool
    new_score: float | None
    score_change: float | None
    reward: int
    due: int
    update_cid: str


@dataclass(frozen=True)
class OwnerRewards:
    """What one owner earned from one model."""

    owner: str
    accepted: int
    rows: int
    paid: int


@dataclass(frozen=True)
class HistoryPoint:
    """The score after an evaluation (step 0: the initial model)."""

    step: int
    score: float
    accepted: bool
    label: str
    update_id: int = 0


@dataclass(frozen=True)
class ModelDetail:
    """Everything on a model page."""

    summary: ModelSummary
    submissions: list[SubmissionRow]
    rewards: list[OwnerRewards]
    history: list[HistoryPoint]
    next_stale: int | None
    """When the oldest waiting submission may be settled without the lender (unix time)."""


@dataclass(frozen=True)
class AuditRow:
    """One recorded score re-computed."""

    label: str
    model_cid: str
    recorded: float
    recomputed: float | None
    ok: bool


@dataclass(frozen=True)
class AuditReport:
    """Result of :func:`audit_model`."""

    model_id: int
    test_set_cid: str
    commitment_ok: bool
    test_rows: int
    rows: list[AuditRow]
    tolerance_ppm: int
    notes: list[str]
    bundle_cid: str | None = None

    @property
    def checked(self) -> int:
        return len(self.rows)

    @property
    def matched(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def ok(self) -> bool:
        """Commitment matches and every recorded score was reproduced."""
        return self.commitment_ok and self.matched == self.checked


# --------------------------------------------------------------------------- the workflow


class Lender:
    """The lender's side of the protocol on one deployed ``ModelRepository``.

    Build with :meth:`open` (from a ``Web3``) or directly from a
    :class:`~hessian_common.chain.ModelRepository` whose client signs as the lender.
    Evaluations are serialised (one lock), so the app's background jobs, the auto-evaluation
    worker and a user's clicks cannot evaluate the same submission twice.

    Parameters
    ----------
    repo : ModelRepository
    store : ContentStore
    state : LenderState
    passphrase : str
        Opens the sealed Paillier private keys; kept in memory only.
    key_source : str
        How the Ethereum account was obtained (shown to the user; never the key).
    """

    def __init__(
        self,
        repo: Any,
        store: Any,
        state: LenderState,
        passphrase: str,
        key_source: str = "keystore",
        workers: int | None = 1,
    ):
        self.repo = repo
        self.store = store
        self.state = state
        self._passphrase = passphrase
        self.key_source = key_source
        self.workers = workers
        self.chain_id = int(repo.client.chain_id)
        self.contract = repo.address
        self._lock = threading.RLock()
        self._keys: dict[int, Any] = {}
        self._holdouts: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._specs: dict[str, Any] = {}

    def __repr__(self) -> str:  # never shows the passphrase
        return f"Lender({self.address}, chain {self.chain_id}, contract {self.contract})"

    @classmethod
    def open(
        cls,
        w3: Any,
        store: Any,
        *,
        state_root: Path | None = None,
        settings: Any = None,
        contract_address: str | None = None,
        dev_index: int | None = None,
        passphrase: str | None = None,
        account: Any = None,
    ) -> Lender:
        """Connect the lender: passphrase, account, contract (deployment record or address)."""
        from hessian_common.chain import ChainClient, ModelRepository, open_repository
        from hessian_common.chain.client import _node_errors, node_url

        with _node_errors(node_url(w3)):
            chain_id = int(w3.eth.chain_id)
        secret = resolve_passphrase(chain_id, passphrase)
        state = LenderState(state_root)
        state.ensure()
        if account is not None:
            source = "given account"
        elif dev_index is not None:
            if chain_id not in LOCAL_CHAIN_IDS:
                raise ConfigError(
                    f"dev accounts are for local demo chains only, not chain {chain_id}"
                )
            account = lender_account(state, secret, dev_index=int(dev_index))
            source = f"dev account {int(dev_index)} (local demo chain)"
        else:
            account = lender_account(state, secret)
            source = f"encrypted keystore {state.keystore_path}"
        client = ChainClient(w3, account)
        if contract_address:
            repo = ModelRepository(client, contract_address)
        else:
            deployments = getattr(settings, "deployments_dir", None)
            repo = open_repository(client, deployments)
        return cls(repo, store, state, secret, key_source=source)

    def _node(self) -> Any:
        """Context: transport failures of direct node reads become ``ChainUnavailable``."""
        from hessian_common.chain.client import _node_errors

        return _node_errors(self.repo.client.url)

    # ------------------------------------------------------------ account

    @property
    def address(self) -> str:
        """The lender's Ethereum address."""
        return self.repo.client.address

    def balance(self) -> Wei:
        """The account balance in wei."""
        return Wei(self.repo.client.balance())

    def account_summary(self) -> AccountSummary:
        """Address, balance, withdrawable credit, chain and contract."""
        return AccountSummary(
            address=self.address,
            balance=self.balance(),
            pending=self.repo.pending(),
            chain_id=self.chain_id,
            contract=self.contract,
            key_source=self.key_source,
            state_dir=str(self.state.root),
        )

    def withdraw(self) -> Wei:
        """Withdraw the lender's pending credit (reclaimed bounty)."""
        return self.repo.withdraw()

    # ------------------------------------------------------------ create

    def create_task(self, params: TaskParams, progress: ProgressFn | None = None) -> ModelRecord:
        """Post a training task; see the module docstring for the steps.

        Everything that can be checked is checked before anything is written or sent
        (:class:`TaskInputError` with one message per field, including a target not above the
        initial score and a bounty above the balance). The sealed key, the hold-out and the
        salt are written to a pending directory *before* ``createModel`` is sent, so a crash
        after the transaction never loses the key; the directory is renamed to the model id
        when the transaction is mined, or deleted when it fails.

        Returns
        -------
        ModelRecord
            The local record of the new model (``model_id`` from the ``ModelCreated`` event).
        """
        from hessian_common.chain import Mechanism, Metric, test_set_commitment
        from hessian_common.crypto import encrypt_vector, generate_keypair, save_private_key
        from hessian_common.data import Preprocessor, load_bytes, load_file
        from hessian_common.learning.metrics import score_weights
        from hessian_common.learning.spec import ModelSpec
        from hessian_common.learning.updates import fit_taylor
        from hessian_common.store import cid_of

        step = progress or _no_progress
        total = 8
        with self._node():
            now = int(self.repo.client.w3.eth.get_block("latest")["timestamp"])
        errors = params.check(balance_wei=self.balance(), now=max(now, int(time.time())))
        if errors:
            raise TaskInputError(errors)

        step(done=0, total=total, message="reading the loan data")
        try:
            if params.data_bytes is not None:
                data = load_bytes(params.data_bytes, params.schema, source=params.data_name)
            else:
                data = load_file(params.data_path, params.schema)
        except DataError as exc:
            raise TaskInputError({"data": str(exc)}) from None
        y_all = np.asarray(data.y).astype(int)
        n_hold = round(len(y_all) * params.holdout_fraction)
        n_def = int(y_all.sum())
        if min(n_hold, len(y_all) - n_hold) < MIN_PART_ROWS or min(n_def, len(y_all) - n_def) < 4:
            raise TaskInputError(
                {
                    "data": f"{data.source}: {len(y_all)} usable loans ({n_def} defaults) are "
                    f"too few to split into seed data and a hold-out of at least "
                    f"{MIN_PART_ROWS} loans each with both outcomes"
                }
            )
        seed_idx, hold_idx = split_indices(y_all, params.holdout_fraction, params.split_seed)

        step(done=1, message="fitting the preprocessing on the seed data")
        seed_features = data.features.iloc[seed_idx].reset_index(drop=True)
        hold_features = data.features.iloc[hold_idx].reset_index(drop=True)
        pre = Preprocessor(params.schema).fit(seed_features)
        X_seed, X_hold = pre.transform(seed_features), pre.transform(hold_features)
        y_seed, y_hold = y_all[seed_idx], y_all[hold_idx]
        names = list(pre.feature_names_)

        step(done=2, message="training the initial model")
        rule_params = params.rule_params()
        w0 = fit_taylor(X_seed, y_seed, l2=rule_params.get("l2", 1e-4))
        initial = float(score_weights(X_hold, y_hold, w0)[params.metric])
        if to_ppm(params.target) <= to_ppm(initial):
            raise TaskInputError(
                {
                    "target": f"the initial model already scores {initial:.4f} "
                    f"({METRIC_LABELS[params.metric]}) on the hold-out; choose a target above it"
                }
            )

        step(done=3, message=f"generating a {params.key_size}-bit Paillier key")
        pk, sk = generate_keypair(int(params.key_size))

        step(done=4, message="encrypting the initial weights")
        enc_w0 = encrypt_vector(pk, w0, workers=self.workers)
        spec = ModelSpec(
            name=params.name.strip(),
            schema_name=pre.schema_.name,
            schema=pre.schema_.to_dict(),
            preprocessing=pre.to_dict(),
            public_key=pk,
            weights=enc_w0,
            feature_names=names,
            rule=params.update_rule,
            params=rule_params,
            metric=params.metric,
        )

        step(done=5, message="committing to the hold-out")
        test_bytes = test_set_bytes(X_hold, y_hold, names)
        test_cid = str(cid_of(test_bytes))
        salt = secrets.token_bytes(32)
        commitment = test_set_commitment(test_cid, salt)

        step(done=6, message="publishing the model spec")
        spec_cid = str(self.store.put(spec.to_bytes()))
        self.store.pin(spec_cid)

        pending = self.state.pending_dir(self.chain_id, self.contract) / spec_cid
        if pending.exists():
            shutil.rmtree(pending)
        pending.mkdir(parents=True)
        save_private_key(sk, pending / "paillier_key.json", self._passphrase)
        _atomic_write(pending / "testset.csv", test_bytes)
        _atomic_write(pending / "salt", salt)
        record = ModelRecord(
            model_id=0,
            name=params.name.strip(),
            chain_id=self.chain_id,
            contract=self.contract,
            spec_cid=spec_cid,
            initial_model_cid=spec_cid,
            current_model_cid=spec_cid,
            metric=params.metric,
            initial_score=initial,
            current_score=initial,
            target=float(params.target),
            test_set_cid=test_cid,
            commitment="0x" + commitment.hex(),
            params=params.public_dict(),
            feature_names=names,
            seed_rows=len(seed_idx),
            holdout_rows=len(hold_idx),
            versions=[{"update_id": 0, "model_cid": spec_cid, "score": initial}],
        )
        self.state.save_record(pending, record)

        step(done=7, message="sending createModel with the bounty")
        try:
            model_id = self.repo.create_model(
                spec_cid,
                bounty=int(params.bounty_wei),
                initial_score=int(to_ppm(initial)),
                target_score=int(to_ppm(params.target)),
                deadline=int(params.deadline),
                evaluation_window=int(params.evaluation_window),
                test_set_commitment=commitment,
                metric=Metric.AUC if params.metric == "auc" else Metric.ACCURACY,
                mechanism=Mechanism[params.mechanism.upper()],
                submission_deposit=int(params.deposit_wei),
            )
        except (ContractRevert, ChainError) as exc:
            if isinstance(exc, ContractRevert) or not _maybe_sent(exc):
                shutil.rmtree(pending, ignore_errors=True)
            raise
        record.model_id = int(model_id)
        final = self.state.model_dir(self.chain_id, self.contract, model_id)
        final.parent.mkdir(parents=True, exist_ok=True)
        self.state.save_record(pending, record)
        os.replace(pending, final)
        self._keys[int(model_id)] = sk
        self._holdouts[int(model_id)] = (X_hold, y_hold)
        self._specs[spec_cid] = spec
        step(done=total, message=f"model #{model_id} created")
        log.info("created model %s (spec %s) with initial score %.4f", model_id, spec_cid, initial)
        return record

    # ------------------------------------------------------------ local record access

    def _dir(self, model_id: int) -> Path:
        return self.state.model_dir(self.chain_id, self.contract, int(model_id))

    def record(self, model_id: int) -> ModelRecord:
        """The local record of one of this lender's models (:class:`ConfigError` if none)."""
        d = self._dir(model_id)
        if not (d / "record.json").is_file():
            raise ConfigError(
                f"model #{model_id} has no local record in {self.state.root} (not created by "
                "this lender on this contract)"
            )
        return self.state.load_record(d)

    def has_record(self, model_id: int) -> bool:
        """Whether this lender keeps a record (and key) for ``model_id``."""
        return (self._dir(model_id) / "record.json").is_file()

    def records(self) -> list[ModelRecord]:
        """All local records on this contract, by model id."""
        return self.state.records(self.chain_id, self.contract)

    def _save(self, record: ModelRecord) -> None:
        self.state.save_record(self._dir(record.model_id), record)

    def _private_key(self, model_id: int) -> Any:
        from hessian_common.crypto import load_private_key

        if model_id not in self._keys:
            self._keys[model_id] = load_private_key(
                self._dir(model_id) / "paillier_key.json", self._passphrase
            )
        return self._keys[model_id]

    def _holdout(self, model_id: int) -> tuple[np.ndarray, np.ndarray]:
        if model_id not in self._holdouts:
            path = self._dir(model_id) / "testset.csv"
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ConfigError(f"cannot read the hold-out {path}: {exc.strerror}") from None
            X, y, _ = parse_test_set(data)
            self._holdouts[model_id] = (X, y)
        return self._holdouts[model_id]

    def _spec(self, spec_cid: str) -> Any:
        from hessian_common.learning.spec import ModelSpec

        if spec_cid not in self._specs:
            self._specs[spec_cid] = ModelSpec.from_bytes(self.store.get(spec_cid))
        return self._specs[spec_cid]

    # ------------------------------------------------------------ reads for the dashboard

    def summary(self, record: ModelRecord, info: Any | None = None) -> ModelSummary:
        """Join a local record with the chain's view of the model."""
        from hessian_common.chain import ModelStatus

        info = info or self.repo.model(record.model_id)
        if info.status == ModelStatus.OPEN:
            status = "open"
        else:
            status = "finalized" if info.finalized else "closed"
        return ModelSummary(
            model_id=record.model_id,
            name=record.name,
            status=status,
            metric=_enum_name(info.metric),
            mechanism=_enum_name(info.mechanism),
            update_rule=str(record.params.get("update_rule", "")),
            initial_score=from_ppm(info.initial_score),
            current_score=from_ppm(info.current_score),
            target=from_ppm(info.target_score),
            bounty=int(info.bounty),
            remaining=int(info.remaining),
            paid=int(info.paid),
            reclaimed=int(info.reclaimed),
            waiting=int(info.waiting_count),
            submissions=int(info.submission_count),
            accepted=int(info.accepted_count),
            rejected=int(info.rejected_count),
            deadline=int(info.deadline),
            evaluation_window=int(info.evaluation_window),
            deposit=int(info.submission_deposit),
            revealed=bool(info.revealed),
            can_reclaim=bool(info.finalized and info.remaining > 0),
            spec_cid=str(info.spec_cid),
            current_model_cid=str(info.model_cid),
            test_set_cid=record.test_set_cid,
            commitment=record.commitment,
            seed_rows=record.seed_rows,
            holdout_rows=record.holdout_rows,
            key_size=int(record.params.get("key_size", 0)),
        )

    def models(self) -> list[ModelSummary]:
        """This lender's models (those with a local record), newest first."""
        return [self.summary(r) for r in reversed(self.records())]

    def model(self, model_id: int) -> ModelDetail | None:
        """The model page's data, or None if ``model_id`` is not one of this lender's."""
        from hessian_common.chain import SubmissionStatus

        if not self.has_record(model_id):
            return None
        record = self.record(model_id)
        info = self.repo.model(model_id)
        summary = self.summary(record, info)
        subs = self.repo.submissions(model_id)
        local = {int(e["update_id"]): e for e in record.evaluations}
        rows, owners = [], {}
        for s in subs:
            status = _enum_name(s.status)
            ev = local.get(s.update_id)
            change = None
            if ev is not None and status != "waiting":
                change = float(ev["score"]) - float(ev["previous_score"])
            rows.append(
                SubmissionRow(
                    update_id=s.update_id,
                    owner=s.owner,
                    rows=int(s.rows),
                    submitted_at=int(s.submitted_at),
                    status=status,
                    stale=bool(s.stale),
                    new_score=from_ppm(s.new_score) if status != "waiting" else None,
                    score_change=change,
                    reward=int(s.reward),
                    due=int(s.submitted_at) + int(info.evaluation_window),
                    update_cid=str(s.update_cid),
                )
            )
            if s.status == SubmissionStatus.ACCEPTED:
                o = owners.setdefault(s.owner, [0, 0, 0])
                o[0] += 1
                o[1] += int(s.rows)
                o[2] += int(s.reward)
        rewards = [OwnerRewards(k, v[0], v[1], v[2]) for k, v in owners.items()]
        rewards.sort(key=lambda r: -r.paid)
        history = [HistoryPoint(0, summary.initial_score, True, "initial model")]
        with self._node():
            events = self.repo.events()
        evaluated = [e for e in events if e.name == "UpdateEvaluated"]
        for e in evaluated:
            if int(e.args["modelId"]) != model_id:
                continue
            history.append(
                HistoryPoint(
                    step=len(history),
                    score=from_ppm(int(e.args["newScore"])),
                    accepted=bool(e.args["accepted"]),
                    label=f"update #{int(e.args['updateId'])}",
                    update_id=int(e.args["updateId"]),
                )
            )
        waiting_due = [r.due for r in rows if r.status == "waiting"]
        return ModelDetail(
            summary=summary,
            submissions=list(reversed(rows)),
            rewards=rewards,
            history=history,
            next_stale=min(waiting_due) if waiting_due else None,
        )

    def waiting(self, model_id: int | None = None) -> list[int]:
        """Ids of submissions waiting for this lender's evaluation, oldest first."""
        from hessian_common.chain import SubmissionStatus

        ids = [model_id] if model_id is not None else [r.model_id for r in self.records()]
        out = []
        for m in ids:
            out += [
                s.update_id
                for s in self.repo.submissions(m)
                if s.status == SubmissionStatus.WAITING
            ]
        return sorted(out)

    def model_of_update(self, update_id: int) -> int:
        """The model a submission belongs to."""
        return int(self.repo.submission(update_id).model_id)

    def submitted_since(self, from_block: int | None) -> tuple[list[tuple[int, int]], int]:
        """``UpdateSubmitted`` events to this lender's models from ``from_block`` on.

        Returns ``([(model_id, update_id), ...], next_block)``; pass ``next_block`` back in
        the next call (``None`` the first time: from the deployment block).
        """
        w3 = self.repo.client.w3
        with self._node():
            head = int(w3.eth.block_number)
        start = self.repo.from_block if from_block is None else int(from_block)
        if start > head:
            return [], start
        mine = {r.model_id for r in self.records()}
        with self._node():
            events = self.repo.events(start, head)
        found = [
            (int(e.args["modelId"]), int(e.args["updateId"]))
            for e in events
            if e.name == "UpdateSubmitted" and int(e.args["modelId"]) in mine
        ]
        return found, head + 1

    # ------------------------------------------------------------ evaluate

    def _current(self, record: ModelRecord, info: Any) -> tuple[str, float]:
        """The current model CID (from the chain) and its hold-out score (local, re-derived
        by decrypting and scoring if the local record missed it, e.g. after a crash)."""
        cid = str(info.model_cid)
        for v in record.versions:
            if v["model_cid"] == cid:
                return cid, float(v["score"])
        from hessian_common.crypto import decrypt_vector
        from hessian_common.learning.metrics import score_weights
        from hessian_common.learning.spec import EncryptedModel

        spec = self._spec(record.spec_cid)
        model = EncryptedModel.from_bytes(self.store.get(cid), spec)
        w = decrypt_vector(self._private_key(record.model_id), model.weights, self.workers)
        X, y = self._holdout(record.model_id)
        s = float(score_weights(X, y, w)[record.metric])
        record.versions.append(
            {"update_id": int(info.last_accepted_update_id), "model_cid": cid, "score": s}
        )
        return cid, s

    def evaluate_submission(
        self, update_id: int, progress: ProgressFn | None = None
    ) -> EvaluationResult:
        """Fetch, check, decrypt, score on the hold-out, accept or reject, record on chain.

        Acceptance is the learning room's rule (:func:`evaluate_candidate`): the candidate's
        hold-out score must be at least ``current − tolerance``. An update that cannot be used
        (missing or malformed blob, wrong model, wrong key, rows or digest that differ from
        what was submitted on chain, a base model this model never had) is *rejected* on chain
        with the reason logged — never left waiting, so nobody is paid for garbage. A store or
        chain outage raises instead (the submission stays waiting; retry).
        """
        from hessian_common.chain import SubmissionStatus
        from hessian_common.crypto import decrypt_vector
        from hessian_common.errors import BlobNotFound, StoreIntegrityError
        from hessian_common.learning.federated import evaluate_candidate
        from hessian_common.learning.spec import EncryptedModel, UpdateBlob

        step = progress or _no_progress
        with self._lock:
            sub = self.repo.submission(int(update_id))
            if sub.status != SubmissionStatus.WAITING:
                raise ChainError(
                    f"update #{update_id} is not waiting (it is {_enum_name(sub.status)})"
                )
            model_id = int(sub.model_id)
            record = self.record(model_id)
            info = self.repo.model(model_id)
            spec = self._spec(record.spec_cid)
            X, y = self._holdout(model_id)
            current_cid, current = self._current(record, info)
            tolerance = float(record.params.get("tolerance", 0.0))

            step(message=f"fetching update #{update_id} from the store")
            reason, w = None, None
            try:
                blob = UpdateBlob.from_bytes(self.store.get(sub.update_cid), spec)
            except (BlobNotFound, StoreIntegrityError, DataError, CryptoError) as exc:
                reason = f"unusable update blob {sub.update_cid}: {exc}"
            else:
                known = {v["model_cid"] for v in record.versions} | {current_cid}
                if blob.model_id != model_id:
                    reason = f"the update is for model #{blob.model_id}, not #{model_id}"
                elif blob.rows != int(sub.rows):
                    reason = f"the blob says {blob.rows} rows, the chain {sub.rows}"
                elif blob.dataset_digest != bytes(sub.dataset_digest).hex():
                    reason = "the blob's dataset digest differs from the one on chain"
                elif blob.base_model_cid not in known:
                    reason = f"base model {blob.base_model_cid} is not a version of this model"
            if reason is None:
                step(message=f"decrypting update #{update_id}")
                try:
                    w = decrypt_vector(self._private_key(model_id), blob.weights, self.workers)
                except CryptoError as exc:
                    reason = f"cannot decrypt the update: {exc}"

            if reason is not None:
                accepted, new_score = False, float("nan")
            else:
                step(message=f"scoring update #{update_id} on the hold-out")
                verdict = evaluate_candidate(w, X, y, current, record.metric, tolerance)
                accepted, new_score, reason = verdict.accepted, verdict.score, verdict.reason

            new_cid = ""
            if accepted:
                step(message="publishing the new encrypted model")
                model = EncryptedModel(blob.weights, version=len(record.versions))
                new_cid = str(self.store.put(model.to_bytes()))
                self.store.pin(new_cid)
            score_ppm = int(to_ppm(new_score)) if math.isfinite(new_score) else 0
            score_ppm = max(0, min(PPM, score_ppm))
            step(message=f"recording the verdict on chain ({'accept' if accepted else 'reject'})")
            receipt = self.repo.evaluate_update(int(update_id), accepted, score_ppm, new_cid)
            tx = _tx_hash(receipt)
            result = EvaluationResult(
                update_id=int(update_id),
                model_id=model_id,
                accepted=accepted,
                score=new_score if math.isfinite(new_score) else 0.0,
                previous_score=current,
                model_cid=new_cid or None,
                reason=reason,
                tx=tx,
            )
            record.evaluations.append(asdict(result))
            if accepted:
                record.versions.append(
                    {"update_id": int(update_id), "model_cid": new_cid, "score": new_score}
                )
                record.current_model_cid, record.current_score = new_cid, new_score
            self._save(record)
            log.info(
                "update %s of model %s: %s (%s)",
                update_id,
                model_id,
                "accepted" if accepted else "rejected",
                reason,
            )
            return result

    def evaluate_all_waiting(
        self, model_id: int | None = None, progress: ProgressFn | None = None
    ) -> list[EvaluationResult]:
        """Evaluate every waiting submission (of ``model_id``, or of all this lender's
        models), oldest first, so each is scored against the model its predecessors made."""
        step = progress or _no_progress
        ids = self.waiting(model_id)
        step(done=0, total=len(ids), message=f"{len(ids)} waiting")
        out = []
        for i, update_id in enumerate(ids):
            step(done=i, message=f"evaluating update #{update_id} ({i + 1} of {len(ids)})")
            out.append(self.evaluate_submission(update_id))
            verdict = "accepted" if out[-1].accepted else "rejected"
            step(done=i + 1, message=f"#{update_id} {verdict} at {out[-1].score:.4f}")
        return out

    # ------------------------------------------------------------ close, reclaim, reveal

    def close(self, model_id: int) -> None:
        """Close the model to new submissions (``closeModel``)."""
        self.record(model_id)
        self.repo.close_model(int(model_id))

    def reclaim(self, model_id: int) -> Wei:
        """Credit the unallotted bounty back to the lender (then :meth:`withdraw`)."""
        self.record(model_id)
        return self.repo.reclaim(int(model_id))

    def reveal_test_set(self, model_id: int) -> CID:
        """Publish the hold-out and an audit bundle, then ``revealTestSet`` on chain.

        The test set's CID must be the committed one (checked here and by the contract).
        The audit bundle lists the decrypted weights of every model version and candidate
        that has a recorded score, so auditors without the key can re-score them.
        """
        from hessian_common.chain import ModelStatus, test_set_commitment
        from hessian_common.store import cid_of

        record = self.record(model_id)
        info = self.repo.model(int(model_id))  # chain first: nothing is published if it is down
        if info.status == ModelStatus.OPEN:
            raise ConfigError(f"model #{model_id} is still open; close it before the reveal")
        if info.revealed:
            raise ConfigError(f"model #{model_id}: the test set is already revealed")
        d = self._dir(model_id)
        data = (d / "testset.csv").read_bytes()
        salt = (d / "salt").read_bytes()
        if test_set_commitment(record.test_set_cid, salt) != bytes(info.test_set_commitment):
            raise CryptoError(f"the local salt of model #{model_id} does not match its commitment")
        if str(cid_of(data)) != record.test_set_cid:
            raise CryptoError(
                f"the local hold-out of model #{model_id} hashes to {cid_of(data)}, "
                f"not the committed {record.test_set_cid}"
            )
        bundle = self._audit_bundle(record)
        cid = str(self.store.put(data))
        self.store.pin(cid)
        bundle_cid = str(self.store.put_json(bundle))
        self.repo.reveal_test_set(int(model_id), cid, salt)
        record.revealed = True
        record.audit_bundle_cid = bundle_cid
        self._save(record)
        return CID(cid)

    def _audit_bundle(self, record: ModelRecord) -> dict[str, Any]:
        from hessian_common.chain import SubmissionStatus

        weights = {}
        sk = self._private_key(record.model_id)
        for cid in self._scored_cids(record.model_id, record.spec_cid, SubmissionStatus):
            weights[cid] = [float(v) for v in self._decrypt_cid(record, cid, sk)]
        return {
            "format": "hessian.audit-bundle/1",
            "model_id": record.model_id,
            "contract": self.contract,
            "chain_id": self.chain_id,
            "weights": weights,
        }

    def _scored_cids(self, model_id: int, spec_cid: str, statuses: Any) -> list[str]:
        cids = [spec_cid]
        for s in self.repo.submissions(model_id):
            if s.status == statuses.WAITING or s.stale:
                continue
            cids.append(str(s.new_model_cid) if s.new_model_cid else str(s.update_cid))
        return cids

    def _decrypt_cid(self, record: ModelRecord, cid: str, sk: Any) -> np.ndarray:
        from hessian_common.crypto import decrypt_vector

        weights = _weights_at(self.store, self._spec(record.spec_cid), cid, record.spec_cid)
        return decrypt_vector(sk, weights, self.workers)

    def audit(self, model_id: int) -> AuditReport:
        """:func:`audit_model` with this lender's private key (no bundle needed)."""
        record = self.record(model_id)
        report = audit_model(
            self.repo, self.store, model_id, private_key=self._private_key(model_id)
        )
        return AuditReport(
            **{**asdict(report), "rows": report.rows, "bundle_cid": record.audit_bundle_cid}
        )


def _weights_at(store: Any, spec: Any, cid: str, spec_cid: str) -> Any:
    """The encrypted weights named by ``cid``: the spec's, an EncryptedModel's or an
    UpdateBlob's (a rejected candidate)."""
    from hessian_common.learning.spec import EncryptedModel, UpdateBlob

    if cid == spec_cid:
        return spec.weights
    raw = store.get(cid)
    try:
        return EncryptedModel.from_bytes(raw, spec).weights
    except DataError:
        return UpdateBlob.from_bytes(raw, spec).weights


def _tx_hash(receipt: Any) -> str | None:
    try:
        h = receipt["transactionHash"]
    except (KeyError, TypeError):
        return None
    return h if isinstance(h, str) else "0x" + bytes(h).hex()


def _maybe_sent(exc: BaseException) -> bool:
    """Whether a failed send may still have reached the chain (a timeout waiting for the
    receipt): then the pending directory with the key is kept."""
    return "timeout" in str(exc).lower() or "timed out" in str(exc).lower()


# --------------------------------------------------------------------------- audit


AUDIT_TOLERANCE_PPM = 1
"""Recomputed and recorded scores may differ by rounding only."""


def audit_model(
    repo: Any,
    store: Any,
    model_id: int,
    *,
    private_key: Any = None,
    bundle_cid: str | None = None,
) -> AuditReport:
    """Re-check a revealed model's recorded scores (anyone may run this).

    1. the revealed test set's CID and salt hash to the commitment made at creation;
    2. the store returns the test set's bytes (verified against the CID);
    3. every recorded score (the initial one, and each evaluated submission's ``newScore``)
       is recomputed: the model's weights come from decrypting the recorded CIDs
       (``private_key``, the lender) or from the audit bundle the lender published
       (``bundle_cid``, everyone else), and are scored with the spec's metric;
       a score matches if it is within :data:`AUDIT_TOLERANCE_PPM`.

    Without the key, bundle weights are taken as published: this checks that the recorded
    scores are those of the published weights on the committed test set, not that those
    weights decrypt from the CIDs (that needs the key or a proof of decryption).
    """
    from hessian_common.chain import SubmissionStatus, test_set_commitment
    from hessian_common.crypto import decrypt_vector
    from hessian_common.learning.metrics import score_weights
    from hessian_common.learning.spec import ModelSpec

    info = repo.model(int(model_id))
    if not info.revealed or not info.test_set_cid:
        raise ConfigError(f"model #{model_id}: the test set is not revealed yet; nothing to audit")
    notes: list[str] = []
    commitment_ok = (
        test_set_commitment(info.test_set_cid, info.test_set_salt) == info.test_set_commitment
    )
    if not commitment_ok:
        notes.append("the revealed CID and salt do not hash to the commitment")
    X, y, _ = parse_test_set(store.get(info.test_set_cid))
    spec = ModelSpec.from_bytes(store.get(info.spec_cid))
    if X.shape[1] != spec.dim:
        raise DataError(f"the test set has {X.shape[1]} features; the spec has {spec.dim}")
    bundle: dict[str, list[float]] = {}
    if private_key is None:
        if not bundle_cid:
            raise ConfigError("auditing without the private key needs the lender's audit bundle")
        raw = store.get_json(bundle_cid)
        if not isinstance(raw, dict) or raw.get("format") != "hessian.audit-bundle/1":
            raise DataError(f"{bundle_cid} is not a Hessian audit bundle")
        bundle = raw.get("weights", {})

    def weights_of(cid: str) -> np.ndarray | None:
        if private_key is not None:
            return decrypt_vector(private_key, _weights_at(store, spec, cid, info.spec_cid))
        if cid in bundle:
            return np.asarray(bundle[cid], dtype=float)
        return None

    todo = [("initial model", str(info.spec_cid), int(info.initial_score))]
    for s in repo.submissions(int(model_id)):
        if s.status == SubmissionStatus.WAITING or s.stale:
            continue
        label = f"update #{s.update_id} ({_enum_name(s.status)})"
        cid = str(s.new_model_cid) if s.new_model_cid else str(s.update_cid)
        todo.append((label, cid, int(s.new_score)))
    rows = []
    for label, cid, recorded in todo:
        try:
            w = weights_of(cid)
        except HessianError as exc:
            notes.append(f"{label}: {exc}")
            w = None
        if w is None:
            rows.append(AuditRow(label, cid, from_ppm(recorded), None, False))
            continue
        finite = bool(np.all(np.isfinite(w)))
        recomputed = to_ppm(score_weights(X, y, w)[spec.metric]) if finite else 0
        ok = abs(int(recomputed) - recorded) <= AUDIT_TOLERANCE_PPM
        rows.append(AuditRow(label, cid, from_ppm(recorded), from_ppm(recomputed), ok))
    return AuditReport(
        model_id=int(model_id),
        test_set_cid=str(info.test_set_cid),
        commitment_ok=commitment_ok,
        test_rows=len(y),
        rows=rows,
        tolerance_ppm=AUDIT_TOLERANCE_PPM,
        notes=notes,
        bundle_cid=bundle_cid,
    )


def split_indices(y: np.ndarray, holdout_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Stratified split of row indices into (seed, hold-out); deterministic in ``seed``."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(len(y))
    seed_idx, hold_idx = train_test_split(
        idx, test_size=float(holdout_fraction), random_state=int(seed), stratify=y
    )
    return np.sort(seed_idx), np.sort(hold_idx)
