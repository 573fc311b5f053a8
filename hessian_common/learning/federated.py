"""The training protocol in one process (no chain, no store), and the centralized baseline.

Protocol (DESIGN.md, "Training protocol"), as :func:`run_federated` runs it::

    lender:  w0 = argmin of the Taylor loss on its seed rows (plaintext, ridge λ)
             publish enc(w0) under a fresh Paillier key
    for each round, for each owner k (in order):
      owner k:  (P_k, q_k) from its own rows;  enc(w') = P_k·enc(w) + q_k   (never decrypts)
      lender:   w' = D(enc(w'));  score(w') on the hold-out;  accept or reject (see below)
                if accepted: w = w', publish a fresh enc(w)

Acceptance rule (:func:`evaluate_candidate`, also used by the company app on real
submissions). A candidate with non-finite weights is always rejected. Otherwise:

- *threshold rule* (the current model's weights unknown): accept iff the hold-out score is at
  least ``current_score − tolerance``. ``tolerance = 0`` accepts only updates that do not
  lower the hold-out score.
- *paired test* (``current_weights`` given): accept unless the candidate is **significantly
  worse** than the current model on the same hold-out rows, one-sided at level ``alpha``::

      AUC:       DeLong's paired test.  With m defaults (positives) and n repaid loans,
                 V10_i = (1/n) Σ_j ψ(s_i, s_j)  for each default i  (ψ = 1 if s_i > s_j,
                 ½ on ties, else 0),  V01_j = (1/m) Σ_i ψ(s_i, s_j)  for each repaid j,
                 AUC = mean(V10);  for the difference D = AUC_cand − AUC_cur:
                 Var(D) = var(V10_cand − V10_cur)/m + var(V01_cand − V01_cur)/n
      accuracy:  McNemar's test on the discordant rows: b = rows only the candidate gets
                 right, c = rows only the current model gets right, D = (b − c)/N,
                 Var(D) ≈ (b + c)/N²
      z = D / sqrt(Var(D));   accept  iff  z ≥ −z_(1−α)  or  D ≥ −tolerance

  Both models score the same rows, so their AUCs are strongly correlated and the paired
  standard error is a small fraction of either AUC's own: the test tells a real loss from
  hold-out noise. A long step towards a label-flipped optimum reverses the ranking and is
  rejected at once; a short proximal step towards it (``w' = P·w + (I − P)·w_flip`` with
  ``w_flip ≈ −w``) mostly *shrinks* ``w``, which no ranking metric sees, so any rule that
  looks at the score accepts or rejects it on its noise, and IMPROVEMENT pays it nothing
  unless that noise beats the best score.

Which rule, and why the threshold rule stays the default: the lender workflow passes only
the current score, so it gets the threshold rule. Measured offline (50 owners, 5
misbehaving, seeds 7/11/23, docs/simulation/README.md), the paired test at α = 0.05 accepts
about 30 of 48 updates instead of about 7, yet ends with a *lower* hold-out AUC (mean ratio
0.985 vs 0.993 at 280 rows per owner) and about the same AUC on fresh test loans: an
update from a few hundred rows is mostly noise, and accepting every noise step that is not
significantly harmful turns the model into a random walk; the threshold rule keeps only
steps that help on the hold-out (a mild selection on the hold-out, visible as ratios
slightly above 1). The paired test is the one to use when owners' updates are individually
informative (large owners, or the ``model_rows`` Newton step).

:func:`centralized_baseline` fits scikit-learn's ``LogisticRegression`` (lbfgs, C = 1) on the
same rows all owners and the lender's seed hold, and scores it on the same hold-out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import norm, rankdata
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
    z: float | None = None
    """Paired test statistic (candidate − current) / standard error; None for the threshold
    rule."""

    @property
    def gain(self) -> float:
        """``score − previous_score`` (negative when the candidate is worse)."""
        return self.score - self.previous_score


DEFAULT_ALPHA = 0.05
"""Level of the paired non-inferiority test: a candidate is rejected when a drop at least as
large as the one seen would happen by hold-out chance less than 5% of the time."""


def delong_paired(y: Any, s_a: Any, s_b: Any) -> tuple[float, float]:
    """DeLong's paired test of two AUCs on the same rows: ``(AUC_a − AUC_b, std. error)``.

    Uses the mid-rank form (Sun & Xu, 2014), O(n log n). Formulas in the module docstring.

    Parameters
    ----------
    y : ndarray of shape (n,)
        Labels 0/1 (1 = default, the positive class); both classes must be present.
    s_a, s_b : ndarray of shape (n,)
        Scores of the two models (higher = more likely a default).
    """
    y = np.asarray(y).ravel().astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    if m < 2 or n < 2:
        raise DataError("the paired AUC test needs at least 2 rows of each class in the hold-out")
    v10, v01 = [], []
    for s in (s_a, s_b):
        s = np.asarray(s, dtype=float).ravel()
        pos, neg = s[y], s[~y]
        r_all = rankdata(np.concatenate([pos, neg]))
        v10.append((r_all[:m] - rankdata(pos)) / n)
        v01.append(1.0 - (r_all[m:] - rankdata(neg)) / m)
    diff = float(v10[0].mean() - v10[1].mean())
    var = np.var(v10[0] - v10[1], ddof=1) / m + np.var(v01[0] - v01[1], ddof=1) / n
    return diff, float(np.sqrt(max(var, 0.0)))


def _paired_z(metric: str, X: Any, y: Any, w_new: np.ndarray, w_cur: Any) -> float:
    """z of (candidate − current) on the hold-out: DeLong (AUC) or McNemar (accuracy)."""
    X = np.asarray(X, dtype=float)
    w_cur = np.asarray(w_cur, dtype=float).ravel()
    if w_cur.shape != w_new.shape or not np.all(np.isfinite(w_cur)):
        raise DataError(f"current weights must be {w_new.shape[0]} finite numbers")
    s_new, s_cur = X @ w_new, X @ w_cur
    if metric == "auc":
        diff, se = delong_paired(y, s_new, s_cur)
    else:
        y = np.asarray(y).ravel()
        right_new, right_cur = (s_new >= 0) == (y == 1), (s_cur >= 0) == (y == 1)
        b = int(np.sum(right_new & ~right_cur))
        c = int(np.sum(~right_new & right_cur))
        diff, se = (b - c) / len(y), np.sqrt(b + c) / len(y)
    if se == 0.0:  # identical rankings (or predictions): no evidence either way
        return 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    return diff / se


def evaluate_candidate(
    w_candidate: Any,
    X_hold: Any,
    y_hold: Any,
    current_score: float,
    metric: str = "auc",
    tolerance: float = 0.0,
    *,
    current_weights: Any = None,
    alpha: float = DEFAULT_ALPHA,
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
        Threshold rule: largest score drop still accepted. With the paired test, a drop up
        to ``tolerance`` is accepted even when significant.
    current_weights : ndarray of shape (d,), optional
        The current model's weights. Given: the paired test decides (accept unless the
        candidate is significantly worse at level ``alpha``). Not given: the threshold rule.
    alpha : float in (0, 0.5]
        One-sided level of the paired test (``z_(1−α)`` = 1.645 at 0.05).
    """
    if metric not in ("auc", "accuracy"):
        raise DataError(f"metric must be 'auc' or 'accuracy', got {metric!r}")
    if tolerance < 0:
        raise DataError(f"tolerance must be >= 0, got {tolerance}")
    if not 0 < alpha <= 0.5:
        raise DataError(f"alpha must be in (0, 0.5], got {alpha}")
    w = np.asarray(w_candidate, dtype=float).ravel()
    if not np.all(np.isfinite(w)):
        return Evaluation(False, float("nan"), current_score, {}, "non-finite weights")
    m = score_weights(X_hold, y_hold, w)
    if current_weights is not None:
        z = _paired_z(metric, X_hold, y_hold, w, current_weights)
        z_crit = float(norm.ppf(1.0 - alpha))
        ok = z >= -z_crit or m[metric] >= current_score - tolerance
        word = "not significantly worse" if ok else "significantly worse"
        reason = (
            f"{metric} {m[metric]:.6f} vs {current_score:.6f}: {word} "
            f"(paired z = {z:.2f}, reject below {-z_crit:.2f}, alpha {alpha:g})"
        )
        return Evaluation(bool(ok), m[metric], current_score, m, reason, z)
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
    alpha: float | None = None,
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
    alpha : float, optional
        Given: the lender uses the paired test at this level (it knows the current weights)
        instead of the threshold rule.
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
            if alpha is None:
                ev = evaluate_candidate(w_new, X_hold, y_hold, current, metric, tolerance)
            else:
                ev = evaluate_candidate(
                    w_new,
                    X_hold,
                    y_hold,
                    current,
                    metric,
                    tolerance,
                    current_weights=w,
                    alpha=alpha,
                )
            timings["score"] += time.perf_counter() - t
            entry = {
                "round": r + 1,
                "owner": k,
                "rows": update.rows,
                "accepted": ev.accepted,
                "score": ev.score,
                "gain": ev.gain,
                "z": ev.z,
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
