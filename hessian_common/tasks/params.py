"""What the lender decides when posting a task, and the checks made before anything happens.

:class:`TaskParams` holds the form's values; :meth:`TaskParams.check` returns one message per
bad field, and :class:`TaskInputError` carries them to the caller. Nothing here reads the data
file, touches the chain or writes to disk.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hessian_common.chain.repository import default_stale_reward
from hessian_common.format import format_amount
from hessian_common.learning.updates import DEFAULT_PARAMS

METRICS = ("auc", "accuracy")
MECHANISMS = ("improvement", "equal", "pro_rata_gain")
UPDATE_RULES = ("gradient", "epochs", "newton")
"""The learning room's rules: one gradient step, K local epochs, a proximal Newton step."""
KEY_SIZES = (512, 768, 1024, 1536, 2048, 3072, 4096)
MIN_PART_ROWS = 20
"""Fewest rows (and at least 2 defaults) in the seed and in the hold-out part."""
GAS_RESERVE_WEI = 10**16
"""Kept out of the bounty check (0.01 ETH) so the lender can still pay for its transactions."""
DAY = 86_400
MAX_WINDOW = 90 * DAY
"""Longest evaluation and reveal windows the contract takes."""
MAX_DURATION = 366 * DAY
"""Latest deadline the contract takes, from now."""
DEFAULT_REVEAL_WINDOW = 14 * DAY
DEFAULT_MAX_ROWS = 10_000_000

METRIC_LABELS = {"auc": "ROC AUC", "accuracy": "Accuracy"}
MECHANISM_LABELS = {
    "improvement": "Paid per improvement",
    "equal": "Equal shares",
    "pro_rata_gain": "Shares pro rata to the score gain",
}
RULE_LABELS = {
    "gradient": "one gradient step",
    "epochs": "K local epochs",
    "newton": "proximal Newton step",
}


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
    mechanism : {"improvement", "equal", "pro_rata_gain"}
    deadline : int
        Unix time (seconds) after which no submission is taken.
    evaluation_window : int
        Seconds the lender has to evaluate a submission before it may be settled as stale.
    deposit_wei : int
        Anti-spam deposit each submission sends (0: none).
    min_gain : float or None
        Smallest score gain over the best model that is paid (metric units; 0: any strict
        gain). None: the hold-out's noise floor (:func:`hessian_common.learning.metrics.
        paid_gain_floor`), so gains within its noise earn nothing.
    stale_reward_wei : int or None
        Reserved from the bounty per submission and paid if the lender leaves it stale
        (None: a tenth of the bounty).
    reveal_window : int
        Seconds after ``deadline + evaluation_window`` by which the lender must reveal the
        test set and the decryption transcript, or forfeit what remains of the bounty.
    max_rows : int
        Most rows one submission may declare.
    key_size : int
        Paillier modulus bits (2048 by default; smaller only for tests and demos).
    update_rule : {"gradient", "epochs", "newton"}
        ``enc(w') = P·enc(w) + q`` with ``P = I − ηA`` (one step), ``P = (I − ηA)^K``
        (K local epochs) or ``P = μ(A + μI)⁻¹`` (proximal Newton), ``A = XᵀX/(4N)``.
    hyper : mapping
        The rule's hyper-parameters: ``lr`` (η), ``epochs`` (K), ``mu`` (μ), ``l2`` (ridge);
        keys the rule does not use are dropped (see :meth:`rule_params`).
    tolerance : float
        Acceptance rule (the learning room's :func:`evaluate_candidate`): a drop of the
        hold-out score up to ``tolerance`` passes the metric's paired test even when
        significant (the loss and step checks still apply).
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
    min_gain: float | None = None
    stale_reward_wei: int | None = None
    reveal_window: int = DEFAULT_REVEAL_WINDOW
    max_rows: int = DEFAULT_MAX_ROWS

    @property
    def stale_reward(self) -> int:
        """The stale reserve per submission in wei (default: a tenth of the bounty)."""
        if self.stale_reward_wei is None:
            return default_stale_reward(int(self.bounty_wei))
        return int(self.stale_reward_wei)

    def rule_params(self) -> dict[str, float]:
        """The hyper-parameters the chosen rule takes (over the learning room's defaults)."""
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
                f"the bounty ({format_amount(self.bounty_wei)}) is more than the account "
                f"balance ({format_amount(balance_wei)}) less a gas reserve of "
                f"{format_amount(GAS_RESERVE_WEI)}"
            )
        if int(self.bounty_wei) >= 2**96:
            errors["bounty_eth"] = "the bounty is too large"
        if self.metric not in METRICS:
            errors["metric"] = f"metric must be one of {', '.join(METRICS)}"
        if not (isinstance(self.target, int | float) and 0 < self.target <= 1):
            errors["target"] = "the target must be a score in (0, 1]"
        if self.mechanism not in MECHANISMS:
            errors["mechanism"] = f"mechanism must be one of {', '.join(MECHANISMS)}"
        if int(self.deadline) <= now + 60:
            errors["deadline"] = "the deadline must be at least a minute in the future"
        elif int(self.deadline) > now + MAX_DURATION:
            errors["deadline"] = "the deadline must be within a year (366 days) from now"
        if not 1 <= int(self.evaluation_window) <= MAX_WINDOW:
            errors["eval_window_hours"] = "the evaluation window must be 1 second to 90 days"
        if not 1 <= int(self.reveal_window) <= MAX_WINDOW:
            errors["reveal_window"] = "the reveal window must be 1 second to 90 days"
        if not 1 <= int(self.max_rows) < 2**64:
            errors["max_rows"] = "the most rows per submission must be at least 1"
        if not 0 < self.stale_reward <= int(self.bounty_wei) and int(self.bounty_wei) > 0:
            errors["stale_reward"] = "the stale reward must be more than 0 and at most the bounty"
        if self.min_gain is not None:
            if not (isinstance(self.min_gain, int | float) and 0 <= self.min_gain < 1):
                errors["min_gain"] = "the minimum paid gain must be in [0, 1)"
            elif isinstance(self.target, int | float) and self.min_gain >= self.target:
                errors["min_gain"] = "the minimum paid gain must be below the target"
        if not 0 <= int(self.deposit_wei) < 2**96:
            errors["deposit_eth"] = "the deposit must be 0 or more"
        elif int(self.deposit_wei) > int(self.bounty_wei) > 0:
            errors["deposit_eth"] = (
                f"the deposit ({format_amount(self.deposit_wei)}) is more than the whole bounty "
                f"({format_amount(self.bounty_wei)}): no data owner would pay it. An anti-spam "
                f"deposit is a small part of the bounty, e.g. "
                f"{format_amount(int(self.bounty_wei) // 1000)}"
            )
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
    """Field -> message for hyper-parameters that are unknown, not numbers or out of range."""
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
