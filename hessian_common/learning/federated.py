"""The training protocol in one process (no chain, no store), and the centralized baseline.

Protocol (DESIGN.md, "Training protocol"), as :func:`run_federated` runs it::

    lender:  prior = feature second moments of its seed and of all its loans, ridge Λ
             w0 = argmin of the Taylor loss on its seed rows under that prior (plaintext)
             publish prior and enc(w0) under a fresh Paillier key
    for each round, for each owner k (in order):
      owner k:  (P_k, q_k) from its own rows (Newton: weighed against the M rows the model
                holds, with the prior's curvature);  enc(w') = P_k·enc(w) + q_k
      lender:   w' = D(enc(w'));  accept or reject (see below)
                if accepted: w = w', M += N_k, publish a fresh enc(w)

Acceptance rule (:func:`evaluate_candidate`, also used by the company app on real
submissions). A candidate with non-finite weights is always rejected. Otherwise:

- *threshold rule* (the current model's weights unknown; kept for callers that pass only the
  current score): accept iff the hold-out score is at least ``current_score − tolerance``.
- *the lender's rule* (``current_weights`` given; what the lender workflow and
  :func:`run_federated` use): accept unless the update is **significantly bad**, judged by
  three paired statistics, so that a useful small update is not thrown away by hold-out
  noise while label-flipped and noise updates are:

  1. *hold-out metric* — the candidate against the current model on the same hold-out rows,
     one-sided at level ``alpha`` (0.05)::

       AUC:       DeLong's paired test.  With m defaults (positives) and n repaid loans,
                  V10_i = (1/n) Σ_j ψ(s_i, s_j)  for each default i  (ψ = 1 if s_i > s_j,
                  ½ on ties, else 0),  V01_j = (1/m) Σ_i ψ(s_i, s_j)  for each repaid j,
                  AUC = mean(V10);  for the difference D = AUC_cand − AUC_cur:
                  Var(D) = var(V10_cand − V10_cur)/m + var(V01_cand − V01_cur)/n
       accuracy:  McNemar's test on the discordant rows: b = rows only the candidate gets
                  right, c = rows only the current model gets right, D = (b − c)/N,
                  Var(D) ≈ (b + c)/N²
       z = D / sqrt(Var(D));   fails iff  z < −z_(1−α)  and  D < −tolerance

  2. *hold-out loss* — the protocol's own loss (the Taylor loss, i.e. twice the Brier score
     of the linear probability ``½ + s/4``: ``ℓ_i = s_i²/8 + (½ − y_i)·s_i``), paired per
     row: ``Δ_i = ℓ_i(cand) − ℓ_i(cur)``, ``z = −mean(Δ)/(sd(Δ)/√n)``; fails iff
     ``z < −z_(1−α)``. Unlike AUC it sees a shrunk or shifted score (calibration).

  3. *the step* (when ``step`` is given: the base weights ``w`` the update started from, its
     rows N, the rows M it weighed them against and the spec's curvature prior): an honest
     row-weighted Newton step ``(N·A + H̃)(w' − w) = −N·g`` carries the owner's mean
     gradient ``g`` at ``w``; with ``A`` estimated by the population's ``S_pop + λD`` the
     lender recovers ``ĝ = −(N(S_pop + λD) + H̃)(w' − w)/N`` and compares it with the
     gradient of its own hold-out at the same ``w``, ``g_H = mean_i x_i(½ + x_i·w/4 − y_i)``,
     along two directions: the intercept ``e_0`` (the owner's default rate against the
     model's) and the model's own score ``u`` (``x·u`` = the centred score ``x·w``; positive:
     the owner's labels agree less with the model's ranking than the hold-out's do, as for
     shuffled labels or flipped ones)::

       z_v = (vᵀĝ − mean_i (x_i·v) r_i) / (sd_i((x_i·v) r_i) · sqrt(1/N + 1/n))

     a two-sample test (the owner's rows against the hold-out's, both at ``w``) whose null
     holds whatever ``w`` is — an over-fitted ``w0`` included. Fails iff
     ``|z_intercept| > z_(1−α_s/2)`` or ``z_score > z_(1−α_s)``, ``α_s = step_alpha`` (0.01).

  The statistics are returned (:attr:`Evaluation.stats`) so the lender records them.

Why (issue 17; figures in README.md, "Federated vs centralized"): on 200-row hold-outs no
hold-out statistic tells a 70-row honest update from a label-flipped one, while the step
statistics are N(0, 1) for honest owners, IID or state/grade-skewed (their 5 %/95 % quantiles
±1.4 to ±2.1 in 50-owner runs; tests/learning/test_acceptance.py), and a label flip gives
``z_intercept`` of about −5 (70 rows) to −30 (280 rows), a shuffled file ``z_score`` of +2 to
+3. On the small-owner file (1,000 applications, 62 features, 10 owners of 70 rows, 10 splits)
the threshold rule accepts 7 of 10 honest updates and hill-climbs the hold-out (1.009 of the
centralized AUC there, 0.991 on fresh applications); this rule keeps 9.3 (0.999 and 0.997).
On 50 Lending Club owners (5 misbehaving, seeds 7/11/23 × iid/state/grade): 0.998–1.001 on
the hold-out, 0.996–0.998 on fresh loans, misbehaving owners ≤ 0.4 % of the bounty.

:func:`centralized_baseline` fits scikit-learn's ``LogisticRegression`` (lbfgs, C = 1) on the
same rows all owners and the lender's seed hold, and scores it on the same hold-out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.linear_model import LogisticRegression

from hessian_common.crypto.paillier import decrypt_vector, encrypt_vector, generate_keypair
from hessian_common.errors import DataError
from hessian_common.learning.metrics import predict_proba, score, score_weights
from hessian_common.learning.prior import DEFAULT_RIDGE, CurvaturePrior, initial_model, prior_of
from hessian_common.learning.updates import DPConfig, _params, build_update, newton_by_rows

if TYPE_CHECKING:
    from hessian_common.learning.spec import ModelSpec

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
    """Paired test statistic of the metric, (candidate − current) / standard error; None for
    the threshold rule."""
    stats: dict[str, float] = field(default_factory=dict)
    """Every statistic the rule computed (``z_auc`` or ``z_accuracy``, ``z_loss``,
    ``z_intercept``, ``z_score``) and its levels (``alpha``, ``step_alpha``): what the lender
    records with its verdict."""

    @property
    def gain(self) -> float:
        """``score − previous_score`` (negative when the candidate is worse)."""
        return self.score - self.previous_score


@dataclass(frozen=True)
class StepContext:
    """How an update was built, for the step check of :func:`evaluate_candidate`.

    Attributes
    ----------
    base_weights : ndarray of shape (d,)
        The decrypted weights the owner's update started from (its base model).
    rows : int
        N, the owner's rows (on chain).
    model_rows : float
        M, the rows the owner weighed its rows against (the spec's ``seed_rows`` plus the
        contract's ``acceptedRows`` on the base model).
    prior : CurvaturePrior
        The spec's curvature prior.
    l2 : float
        The rule's per-row ridge λ.
    """

    base_weights: Any
    rows: int
    model_rows: float
    prior: CurvaturePrior
    l2: float = 0.0


def step_context(
    spec: ModelSpec, base_weights: Any, rows: int, model_rows: float
) -> StepContext | None:
    """The :class:`StepContext` of an update to ``spec``'s model, or None when the spec's
    rule has no step to check (not ``newton``, no curvature prior, or ``model_rows`` 0).

    ``model_rows``: the rows the owner weighed its own against (``spec.seed_rows`` plus the
    contract's ``acceptedRows`` on the base model, as :func:`hessian_common.owner.update_params`
    computes them).
    """
    prior = prior_of(spec)
    if spec.rule != "newton" or prior is None or not model_rows:
        return None
    l2 = float(_params(spec.rule, spec.params)["l2"])
    return StepContext(
        np.asarray(base_weights, dtype=float), int(rows), float(model_rows), prior, l2
    )


DEFAULT_ALPHA = 0.05
"""Level of the paired hold-out tests: a candidate is rejected when a drop at least as large
as the one seen would happen by hold-out chance less than 5% of the time."""

DEFAULT_STEP_ALPHA = 0.01
"""Level of the step checks (each): 1 % of honest updates fail one of them by chance."""


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


def _z(diff: float, se: float) -> float:
    if se == 0.0:  # identical rankings (or predictions): no evidence either way
        return 0.0 if diff == 0 else float(np.sign(diff) * np.inf)
    return float(diff / se)


def _paired_z(metric: str, X: Any, y: Any, w_new: np.ndarray, w_cur: Any) -> float:
    """z of (candidate − current) on the hold-out: DeLong (AUC) or McNemar (accuracy)."""
    X = np.asarray(X, dtype=float)
    w_cur = np.asarray(w_cur, dtype=float).ravel()
    if w_cur.shape != w_new.shape or not np.all(np.isfinite(w_cur)):
        raise DataError(f"current weights must be {w_new.shape[0]} finite numbers")
    s_new, s_cur = X @ w_new, X @ w_cur
    if metric == "auc":
        return _z(*delong_paired(y, s_new, s_cur))
    y = np.asarray(y).ravel()
    right_new, right_cur = (s_new >= 0) == (y == 1), (s_cur >= 0) == (y == 1)
    b = int(np.sum(right_new & ~right_cur))
    c = int(np.sum(~right_new & right_cur))
    return _z((b - c) / len(y), np.sqrt(b + c) / len(y))


def taylor_loss_rows(X: Any, y: Any, w: Any) -> np.ndarray:
    """Per-row Taylor loss ``ℓ_i = s_i²/8 + (½ − y_i)·s_i`` of the score ``s = X·w``.

    ``2·(½ + s/4 − y)² = ℓ + 2(½ − y)²``: the Brier score of the linear probability, up to a
    constant per row. Its mean is what the update rules minimise.
    """
    s = np.asarray(X, dtype=float) @ np.asarray(w, dtype=float).ravel()
    return s * s / 8 + (0.5 - np.asarray(y, dtype=float).ravel()) * s


def paired_loss_z(X: Any, y: Any, w_new: Any, w_cur: Any) -> float:
    """``z = −mean(Δ)/(sd(Δ)/√n)``, ``Δ_i = ℓ_i(w_new) − ℓ_i(w_cur)``; positive = better."""
    delta = taylor_loss_rows(X, y, w_new) - taylor_loss_rows(X, y, w_cur)
    if len(delta) < 2:
        return 0.0
    return _z(-float(delta.mean()), float(delta.std(ddof=1)) / np.sqrt(len(delta)))


def step_statistics(w_candidate: Any, step: StepContext, X_hold: Any, y_hold: Any) -> dict:
    """``{"z_intercept", "z_score"}``: the owner's implied gradient against the hold-out's.

    See the module docstring (rule 3). ``ĝ = −(N(S_pop + λD) + H̃(M))(w' − w)/N``, compared
    with the hold-out's mean gradient at ``w`` along the intercept and the model's score.
    """
    w = np.asarray(step.base_weights, dtype=float).ravel()
    w_new = np.asarray(w_candidate, dtype=float).ravel()
    X = np.asarray(X_hold, dtype=float)
    y = np.asarray(y_hold, dtype=float).ravel()
    d = w.shape[0]
    if step.prior.dim != d or w_new.shape != (d,) or X.shape[1] != d:
        raise DataError(
            f"step check: base weights {w.shape}, candidate {w_new.shape}, hold-out {X.shape} "
            f"and prior ({step.prior.dim}) must agree"
        )
    if not step.rows >= 1 or not step.model_rows >= 0:
        raise DataError(f"step check: rows {step.rows} and model rows {step.model_rows}")
    n_rows = float(step.rows)
    pen = np.ones(d)
    pen[0] = 0.0
    S = step.prior.population + step.l2 * np.diag(pen)
    H = step.prior.precision(step.model_rows, step.l2)
    g_hat = -(n_rows * S + H) @ (w_new - w) / n_rows
    r = 0.5 + (X @ w) / 4 - y
    w_slope = w.copy()
    w_slope[0] = 0.0
    u = w_slope.copy()
    u[0] = -float((X @ w_slope).mean())  # x·u = the centred score
    out = {}
    for name, v in (("z_intercept", np.eye(d)[0]), ("z_score", u)):
        per_row = (X @ v) * r
        se = float(per_row.std(ddof=1)) * np.sqrt(1.0 / n_rows + 1.0 / len(y))
        out[name] = _z(float(v @ g_hat - per_row.mean()), se)
    return out


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
    step: StepContext | None = None,
    step_alpha: float = DEFAULT_STEP_ALPHA,
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
        Threshold rule: largest score drop still accepted. Lender's rule: a drop up to
        ``tolerance`` passes the metric test even when significant.
    current_weights : ndarray of shape (d,), optional
        The current model's weights. Given: the lender's rule (paired tests). Not given: the
        threshold rule.
    alpha : float in (0, 0.5]
        One-sided level of the paired hold-out tests (``z_(1−α)`` = 1.645 at 0.05).
    step : StepContext, optional
        How the update was built; given (with ``current_weights``), the step is checked too.
    step_alpha : float in (0, 0.5]
        Level of each step check.
    """
    if metric not in ("auc", "accuracy"):
        raise DataError(f"metric must be 'auc' or 'accuracy', got {metric!r}")
    if tolerance < 0:
        raise DataError(f"tolerance must be >= 0, got {tolerance}")
    if not 0 < alpha <= 0.5:
        raise DataError(f"alpha must be in (0, 0.5], got {alpha}")
    if not 0 < step_alpha <= 0.5:
        raise DataError(f"step_alpha must be in (0, 0.5], got {step_alpha}")
    w = np.asarray(w_candidate, dtype=float).ravel()
    if not np.all(np.isfinite(w)):
        return Evaluation(False, float("nan"), current_score, {}, "non-finite weights")
    m = score_weights(X_hold, y_hold, w)
    if current_weights is None:
        ok = m[metric] >= current_score - tolerance
        reason = (
            f"{metric} {m[metric]:.6f} >= {current_score:.6f} - {tolerance:g}"
            if ok
            else f"{metric} {m[metric]:.6f} < {current_score:.6f} - {tolerance:g}"
        )
        return Evaluation(bool(ok), m[metric], current_score, m, reason)

    z_crit = float(norm.ppf(1.0 - alpha))
    z = _paired_z(metric, X_hold, y_hold, w, current_weights)
    z_loss = paired_loss_z(X_hold, y_hold, w, current_weights)
    stats: dict[str, float] = {f"z_{metric}": z, "z_loss": z_loss, "alpha": alpha}
    failed = []
    if z < -z_crit and m[metric] < current_score - tolerance:
        failed.append(f"{metric} significantly worse (z {z:.2f} < {-z_crit:.2f})")
    if z_loss < -z_crit:
        failed.append(f"hold-out loss significantly worse (z {z_loss:.2f} < {-z_crit:.2f})")
    if step is not None:
        st = step_statistics(w, step, X_hold, y_hold)
        stats.update(st, step_alpha=step_alpha)
        two, one = float(norm.ppf(1.0 - step_alpha / 2)), float(norm.ppf(1.0 - step_alpha))
        if abs(st["z_intercept"]) > two:
            failed.append(
                f"the step's default rate disagrees with the lender's loans "
                f"(z {st['z_intercept']:.2f}, |z| > {two:.2f})"
            )
        if st["z_score"] > one:
            failed.append(
                f"the step's labels disagree with the model's ranking "
                f"(z {st['z_score']:.2f} > {one:.2f})"
            )
    head = f"{metric} {m[metric]:.6f} vs {current_score:.6f}"
    if failed:
        reason = f"{head}: rejected: " + "; ".join(failed)
    else:
        detail = f"paired z {z:.2f}, loss z {z_loss:.2f}"
        if step is not None:
            detail += f", step z {stats['z_intercept']:.2f} / {stats['z_score']:.2f}"
        reason = f"{head}: not significantly worse ({detail}; alpha {alpha:g})"
    return Evaluation(not failed, m[metric], current_score, m, reason, z, stats)


@dataclass
class FederatedResult:
    """Outcome of :func:`run_federated`."""

    weights: np.ndarray
    initial: dict[str, float]
    final: dict[str, float]
    history: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    key_bits: int = 0
    prior: CurvaturePrior | None = None

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


ACCEPTANCE = ("lender", "threshold", "all")
"""Acceptance rules of :func:`run_federated`: the lender's (paired tests and the step check,
as the company app), the threshold rule, or every update (to measure the composition)."""


def run_federated(
    owners: Sequence[Owner],
    X_seed: Any,
    y_seed: Any,
    X_hold: Any,
    y_hold: Any,
    rounds: int = 1,
    rule: str = "newton",
    params: dict[str, float] | None = None,
    key_bits: int = 2048,
    metric: str = "auc",
    tolerance: float = 0.0,
    workers: int | None = None,
    dp: DPConfig | None = None,
    alpha: float = DEFAULT_ALPHA,
    seed: int | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    *,
    acceptance: str = "lender",
    ridge: float = DEFAULT_RIDGE,
    row_weighted: bool = True,
) -> FederatedResult:
    """Run the protocol minus the chain (module docstring) and return the lender's model.

    Parameters
    ----------
    owners : list of (X, y)
        Each owner's preprocessed rows; X of shape (n_k, d) with the intercept column first.
    X_seed, y_seed : the lender's own rows, used to fit the initial model.
    X_hold, y_hold : the lender's private hold-out, used to accept or reject updates.
    rounds : int
        Passes over the owners (1: each owner submits once, as on chain).
    rule, params : update rule (``"gradient"``, ``"epochs"``, ``"newton"``) and overrides.
    key_bits : Paillier modulus size (2048 in production; 512 is enough for tests).
    metric, tolerance : acceptance rule (:func:`evaluate_candidate`).
    alpha : level of the paired hold-out tests of the lender's rule.
    acceptance : ``"lender"`` (default), ``"threshold"`` or ``"all"`` (:data:`ACCEPTANCE`).
    ridge : total ridge Λ of the lender's curvature prior (:mod:`.prior`).
    row_weighted : Newton rule: owners weigh their rows against the M rows the model holds
        (the owner workflow's step, with the prior); False: the plain ``μ`` step.
    workers : processes for the encrypted update and (de)cryption (None: one per core).
    dp : optional differential privacy applied by every owner.
    seed : seeds the DP noise.
    progress : called with each history entry as it happens.
    """
    if int(rounds) != rounds or rounds < 1:
        raise DataError(f"rounds must be a positive integer, got {rounds}")
    if acceptance not in ACCEPTANCE:
        raise DataError(f"acceptance must be one of {', '.join(ACCEPTANCE)}, got {acceptance!r}")
    _check_split(owners, X_seed, X_hold)
    p = _params(rule, params)
    rng = np.random.default_rng(seed)
    timings = {"keygen": 0.0, "owner_update": 0.0, "decrypt": 0.0, "encrypt": 0.0, "score": 0.0}

    t = time.perf_counter()
    pk, sk = generate_keypair(key_bits)
    timings["keygen"] = time.perf_counter() - t

    w, prior = initial_model(X_seed, y_seed, X_hold, l2=p["l2"], ridge=ridge)
    initial = score_weights(X_hold, y_hold, w)
    current = initial[metric]
    t = time.perf_counter()
    enc_w = encrypt_vector(pk, w, workers=workers)
    timings["encrypt"] += time.perf_counter() - t

    # Each owner's statistics depend only on its own data: computed once. The row-weighted
    # Newton step also depends on the rows the model holds when the owner submits.
    by_rows = rule == "newton" and row_weighted
    if by_rows:
        steps = [
            newton_by_rows(X, y, mu=p["mu"], l2=p["l2"], floor=p["floor"], dp=dp, rng=rng,
                           prior=prior)
            for X, y in owners
        ]  # fmt: skip
    else:
        updates = [build_update(rule, X, y, params, dp=dp, rng=rng) for X, y in owners]
    model_rows = len(y_seed)
    history: list[dict[str, Any]] = []
    for r in range(int(rounds)):
        for k in range(len(owners)):
            update = steps[k].at(model_rows) if by_rows else updates[k]
            t = time.perf_counter()
            enc_new = update.apply_encrypted(enc_w, workers=workers)
            timings["owner_update"] += time.perf_counter() - t
            t = time.perf_counter()
            w_new = decrypt_vector(sk, enc_new, workers=workers)
            timings["decrypt"] += time.perf_counter() - t
            t = time.perf_counter()
            if acceptance == "lender":
                ctx = StepContext(w, update.rows, model_rows, prior, p["l2"]) if by_rows else None
                ev = evaluate_candidate(
                    w_new, X_hold, y_hold, current, metric, tolerance,
                    current_weights=w, alpha=alpha, step=ctx,
                )  # fmt: skip
            else:
                ev = evaluate_candidate(w_new, X_hold, y_hold, current, metric, tolerance)
                if acceptance == "all" and np.all(np.isfinite(w_new)):
                    ev = Evaluation(True, ev.score, ev.previous_score, ev.metrics, "accept all")
            timings["score"] += time.perf_counter() - t
            entry = {
                "round": r + 1,
                "owner": k,
                "rows": update.rows,
                "accepted": ev.accepted,
                "score": ev.score,
                "gain": ev.gain,
                "z": ev.z,
                "stats": dict(ev.stats),
            }
            history.append(entry)
            if progress is not None:
                progress(entry)
            if ev.accepted:
                w, current = w_new, ev.score
                model_rows += update.rows
                t = time.perf_counter()
                enc_w = encrypt_vector(pk, w, workers=workers)
                timings["encrypt"] += time.perf_counter() - t
    final = score_weights(X_hold, y_hold, w)
    n_sub = max(1, len(history))
    timings["owner_update_mean"] = timings["owner_update"] / n_sub
    return FederatedResult(w, initial, final, history, timings, key_bits, prior)


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
