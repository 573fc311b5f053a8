"""The training protocol in one process (no chain, no store), and the centralized baseline.

Protocol (DESIGN.md, "Training protocol"), as :func:`run_federated` runs it::

    lender:  w0 = argmin of the Taylor loss on its seed rows (plaintext, ridge λ)
             publish enc(w0) under a fresh Paillier key
    for each round, for each owner k (in order):
      owner k:  (P_k, q_k) from its own rows;  enc(w') = P_k·enc(w) + q_k   (never decrypts)
      lender:   w' = D(enc(w'));  score(w') on the hold-out;  accept or reject (see below)
                if accepted: w = w', publish a fresh enc(w)

Acceptance rule (:func:`evaluate_candidate`, also used by the company app on real
submissions): a candidate is accepted iff its weights are finite and its hold-out score (the
spec's metric, AUC or accuracy) is at least ``current_score − tolerance``. ``tolerance = 0``
(the default) accepts only updates that do not make the model worse on the hold-out; a small
positive tolerance lets the model move through flat regions at the price of hold-out noise.

:func:`centralized_baseline` fits scikit-learn's ``LogisticRegression`` (lbfgs, C = 1) on the
same rows all owners and the lender's seed hold, and scores it on the same hold-out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from hessian_common.crypto.paillier import decrypt_vector, encrypt_vector, generate_keypair
from hessian_common.errors import DataError
from hessian_common.learning.metrics import predict_proba, score, score_weights
from hessian_common.learning.updates import DPConfig, _params, build_update, fit_taylor

Owner = tuple[Any, Any]
"""One owner's preprocessed rows ``(X, y)``: X of shape (n, d), y of shape (n,)."""


@dataclass(frozen=True)
class Evaluation:
    """The lender's verdict on one candidate model."""

    accepted: bool
    score: float
    previous_score: float
    metrics: dict[str, float]
    reason: str

    @property
    def gain(self) -> float:
        """``score − previous_score`` (negative when the candidate is worse)."""
        return self.score - self.previous_score


def evaluate_candidate(
    w_candidate: Any,
    X_hold: Any,
    y_hold: Any,
    current_score: float,
    metric: str = "auc",
    tolerance: float = 0.0,
) -> Evaluation:
    """Score ``w_candidate`` on the hold-out and apply the acceptance rule (module docstring).

    Parameters
    ----------
    w_candidate : ndarray of shape (d,)
        Decrypted candidate weights.
    X_hold, y_hold : hold-out rows (n, d) and labels (n,)
    current_score : float
        The metric of the current model on the same hold-out.
    metric : ``"auc"`` or ``"accuracy"``
    tolerance : float >= 0
        Largest score drop still accepted.
    """
    if metric not in ("auc", "accuracy"):
        raise DataError(f"metric must be 'auc' or 'accuracy', got {metric!r}")
    if tolerance < 0:
        raise DataError(f"tolerance must be >= 0, got {tolerance}")
    w = np.asarray(w_candidate, dtype=float).ravel()
    if not np.all(np.isfinite(w)):
        return Evaluation(False, float("nan"), current_score, {}, "non-finite weights")
    m = score_weights(X_hold, y_hold, w)
    ok = m[metric] >= current_score - tolerance
    reason = (
        f"{metric} {m[metric]:.6f} >= {current_score:.6f} - {tolerance:g}"
        if ok
        else f"{metric} {m[metric]:.6f} < {current_score:.6f} - {tolerance:g}"
    )
    return Evaluation(bool(ok), m[metric], current_score, m, reason)


@dataclass
class FederatedResult:
    """Outcome of :func:`run_federated`."""

    weights: np.ndarray
    initial: dict[str, float]
    final: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    key_bits: int = 0

    @property
    def submissions(self) -> int:
        """Number of updates the owners submitted."""
        return len(self.history)

    @property
    def accepted(self) -> int:
        """Number of updates the lender accepted."""
        return sum(1 for h in self.history if h["accepted"])


def _check_split(owners: Sequence[Owner], X_seed: Any, X_hold: Any) -> int:
    if not owners:
        raise DataError("federated training needs at least one owner")
    d = np.asarray(X_hold).shape[1]
    for k, (X, y) in enumerate(owners):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != d:
            raise DataError(f"owner {k}: X has shape {X.shape}, expected (n, {d})")
        if X.shape[0] != len(y):
            raise DataError(f"owner {k}: {X.shape[0]} rows but {len(y)} labels")
    if np.asarray(X_seed).shape[1] != d:
        raise DataError(f"seed data has {np.asarray(X_seed).shape[1]} columns, expected {d}")
    return d


def run_federated(
    owners: Sequence[Owner],
    X_seed: Any,
    y_seed: Any,
    X_hold: Any,
    y_hold: Any,
    rounds: int = 2,
    rule: str = "newton",
    params: dict[str, float] | None = None,
    key_bits: int = 2048,
    metric: str = "auc",
    tolerance: float = 0.0,
    workers: int | None = None,
    dp: DPConfig | None = None,
    seed: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> FederatedResult:
    """Run the protocol minus the chain (module docstring) and return the lender's model.

    Parameters
    ----------
    owners : list of (X, y)
        Each owner's preprocessed rows; X of shape (n_k, d) with the intercept column first.
    X_seed, y_seed : the lender's own rows, used to fit the initial model.
    X_hold, y_hold : the lender's private hold-out, used to accept or reject updates.
    rounds : int
        Passes over the owners.
    rule, params : update rule (``"gradient"``, ``"epochs"``, ``"newton"``) and overrides.
    key_bits : Paillier modulus size (2048 in production; 512 is enough for tests).
    metric, tolerance : acceptance rule (:func:`evaluate_candidate`).
    workers : processes for the encrypted update and (de)cryption (None: one per core).
    dp : optional differential privacy applied by every owner.
    seed : seeds the DP noise.
    progress : called with each history entry as it happens.
    """
    if int(rounds) != rounds or rounds < 1:
        raise DataError(f"rounds must be a positive integer, got {rounds}")
    _check_split(owners, X_seed, X_hold)
    p = _params(rule, params)
    rng = np.random.default_rng(seed)
    timings = {"keygen": 0.0, "owner_update": 0.0, "decrypt": 0.0, "encrypt": 0.0, "score": 0.0}

    t = time.perf_counter()
    pk, sk = generate_keypair(key_bits)
    timings["keygen"] = time.perf_counter() - t

    w = fit_taylor(X_seed, y_seed, l2=max(p["l2"], 1e-3))
    initial = score_weights(X_hold, y_hold, w)
    current = initial[metric]
    t = time.perf_counter()
    enc_w = encrypt_vector(pk, w, workers=workers)
    timings["encrypt"] += time.perf_counter() - t

    # Each owner's update depends only on its own data: computed once, applied every round.
    updates = [build_update(rule, X, y, params, dp=dp, rng=rng) for X, y in owners]
    history: list[dict[str, Any]] = []
    for r in range(int(rounds)):
        for k, update in enumerate(updates):
            t = time.perf_counter()
            enc_new = update.apply_encrypted(enc_w, workers=workers)
            timings["owner_update"] += time.perf_counter() - t
            t = time.perf_counter()
            w_new = decrypt_vector(sk, enc_new, workers=workers)
            timings["decrypt"] += time.perf_counter() - t
            t = time.perf_counter()
            ev = evaluate_candidate(w_new, X_hold, y_hold, current, metric, tolerance)
            timings["score"] += time.perf_counter() - t
            entry = {
                "round": r + 1,
                "owner": k,
                "rows": update.rows,
                "accepted": ev.accepted,
                "score": ev.score,
                "gain": ev.gain,
            }
            history.append(entry)
            if progress is not None:
                progress(entry)
            if ev.accepted:
                w, current = w_new, ev.score
                t = time.perf_counter()
                enc_w = encrypt_vector(pk, w, workers=workers)
                timings["encrypt"] += time.perf_counter() - t
    final = score_weights(X_hold, y_hold, w)
    n_sub = max(1, len(history))
    timings["owner_update_mean"] = timings["owner_update"] / n_sub
    return FederatedResult(w, initial, final, history, timings, key_bits)


def centralized_baseline(
    owners: Sequence[Owner],
    X_seed: Any,
    y_seed: Any,
    X_hold: Any,
    y_hold: Any,
    C: float = 1.0,
) -> dict[str, float]:
    """scikit-learn ``LogisticRegression`` on all owners' rows + the seed, scored on hold-out.

    The intercept column (column 0) is dropped and refitted by scikit-learn, unpenalised.
    """
    _check_split(owners, X_seed, X_hold)
    X = np.vstack([np.asarray(X_seed, dtype=float)] + [np.asarray(X, float) for X, _ in owners])
    y = np.concatenate([np.asarray(y_seed).ravel()] + [np.asarray(y).ravel() for _, y in owners])
    model = LogisticRegression(C=C, max_iter=2000)
    model.fit(X[:, 1:], y)
    w = np.concatenate([model.intercept_, model.coef_.ravel()])
    return score(y_hold, predict_proba(X_hold, w))
