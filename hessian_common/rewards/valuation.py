"""Off-chain contribution valuation: leave-one-out and Monte-Carlo (permutation) Shapley.

What is valued
--------------
Owner ``i`` holds data ``(X_i, y_i)``. In the protocol, the lender never sees that data: the
owner sends ``enc(w') = P_i·enc(w) + q_i`` where the affine map ``(P_i, q_i)`` comes from the
owner's data and the model's update rule (one gradient step, K local epochs or a proximal
Newton step, see :mod:`hessian_common.learning.updates`). Decrypting gives exactly
``w' = P_i·w + q_i``. So the *plaintext* model the protocol produces from a coalition ``S``
taken in order ``(i_1, ..., i_k)`` is::

    w_S = P_{i_k}(... (P_{i_2}(P_{i_1} w_0 + q_{i_1}) + q_{i_2}) ...) + q_{i_k}

and the utility of ``S`` is the hold-out score of ``w_S`` (ROC AUC of the linear scores
``X_hold · w_S``), the same hold-out the lender evaluates on. This module only needs each
owner's plaintext ``AffineUpdate`` (anything with ``apply(w) -> w'``); the simulation builds
them with the learning room's own rule builders, which is what the encrypted path computes.

Row-weighted steps: with the ``newton`` rule an owner's map depends on the rows ``M`` the
model holds when the owner arrives (``proximal_newton(..., model_rows=M)``, the step the
owner workflow takes: ``M`` = the lender's seed rows + the rows accepted before). Such an
owner is given as a *row-dependent* update (``rows`` and ``at(M) -> AffineMap``, the learning
room's ``NewtonByRows``); in a coalition it is applied with ``M = base_rows + Σ rows`` of the
coalition's owners before it, i.e. the step it would have taken had only they come first.

The utility of an ordered coalition ignores the lender's accept/reject decision on purpose: it
measures what the owner's data *does* to the model, so that a harmful owner gets a negative
value rather than zero.

Estimators
----------
- Leave-one-out: ``LOO_i = U(N) - U(N without i)`` (arrival order kept), ``n + 1`` utilities.
- Shapley (Monte-Carlo over permutations, "TMC-Shapley" of Ghorbani & Zou, 2019): for a random
  permutation ``π``, owner ``π_j`` gets the marginal ``U(π_1..π_j) - U(π_1..π_{j-1})``; the
  Shapley value is the mean marginal over permutations. ``U(∅)`` is the initial model's score.
  Tractable by construction: at most ``max_permutations`` permutations (seeded), a scan stops
  early (*truncation*) once ``|U(N) - U(prefix)| <= truncation_tol`` — later marginals are
  counted as 0 — and the whole estimate stops once every value's standard error is below
  ``tolerance`` (after ``min_permutations``). Cost: one ``d x d`` mat-vec and one AUC per step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from sklearn.metrics import roc_auc_score

from hessian_common.errors import ConfigError, DataError


class AffineMap(Protocol):
    """Anything that maps weights to new weights (the learning room's ``AffineUpdate``)."""

    def apply(self, w: np.ndarray) -> np.ndarray:  # pragma: no cover - protocol
        """``w' = P·w + q``."""
        ...


class RowDependentMap(Protocol):
    """An owner's update as a function of the rows the model holds (``NewtonByRows``)."""

    rows: int

    def at(self, model_rows: float) -> AffineMap:  # pragma: no cover - protocol
        """The owner's map on a model of ``model_rows`` rows."""
        ...


class SequentialUtility:
    """Hold-out score of the model built by applying a coalition's updates in order.

    Parameters
    ----------
    updates : sequence of AffineMap or RowDependentMap
        One plaintext update per owner, indexed like the owners. A row-dependent one is
        applied at ``model_rows`` = ``base_rows`` + the rows of the owners before it.
    w0 : ndarray of shape (d,)
        The initial model (the lender's seed model).
    X_hold : ndarray of shape (n_hold, d)
        Preprocessed hold-out features (intercept column included).
    y_hold : ndarray of shape (n_hold,)
        Hold-out labels (0/1, both present).
    score : callable, optional
        ``score(y, s) -> float`` on linear scores ``s = X_hold · w``; ROC AUC by default.
    base_rows : int
        Rows the initial model ``w0`` holds (the lender's seed rows).
    """

    def __init__(
        self,
        updates: Sequence[AffineMap | RowDependentMap],
        w0: np.ndarray,
        X_hold: np.ndarray,
        y_hold: np.ndarray,
        score: Callable[[np.ndarray, np.ndarray], float] | None = None,
        base_rows: int = 0,
    ) -> None:
        if base_rows < 0:
            raise ConfigError(f"base_rows must be >= 0, got {base_rows}")
        self.updates = list(updates)
        self.base_rows = int(base_rows)
        self.w0 = np.asarray(w0, dtype=float)
        self.X_hold = np.asarray(X_hold, dtype=float)
        self.y_hold = np.asarray(y_hold)
        if self.X_hold.ndim != 2 or self.X_hold.shape[1] != self.w0.shape[0]:
            raise DataError(
                f"hold-out features have shape {self.X_hold.shape}; expected (n, {len(self.w0)})"
            )
        if len(np.unique(self.y_hold)) < 2:
            raise DataError("hold-out labels hold a single class; AUC is undefined")
        self._score = score or (lambda y, s: float(roc_auc_score(y, s)))
        self.calls = 0

    @property
    def n(self) -> int:
        """Number of owners."""
        return len(self.updates)

    def score_weights(self, w: np.ndarray) -> float:
        """Hold-out score of weights ``w``."""
        self.calls += 1
        return self._score(self.y_hold, self.X_hold @ w)

    def step(self, w: np.ndarray, i: int, held: int) -> tuple[np.ndarray, int]:
        """Apply owner ``i`` to ``w`` on a model of ``held`` rows: ``(w', held + rows_i)``."""
        update = self.updates[i]
        at = getattr(update, "at", None)
        rows = int(getattr(update, "rows", 0))
        if at is not None:
            update = at(held)
        return np.asarray(update.apply(w), dtype=float), held + rows

    def weights(self, order: Sequence[int]) -> np.ndarray:
        """``w_S`` for the coalition ``order`` (applied left to right)."""
        w, held = self.w0.copy(), self.base_rows
        for i in order:
            w, held = self.step(w, i, held)
        return w

    def __call__(self, order: Sequence[int]) -> float:
        """``U(order)``: hold-out score of ``w_S``."""
        return self.score_weights(self.weights(order))


@dataclass
class ShapleyResult:
    """Monte-Carlo Shapley estimate.

    Attributes
    ----------
    values : ndarray of shape (n,)
        Mean marginal contribution per owner (score units, e.g. AUC points).
    stderr : ndarray of shape (n,)
        Standard error of each mean.
    permutations : int
        Permutations used.
    truncated_steps : int
        Marginals set to 0 by truncation (utility evaluations saved).
    empty_score, full_score : float
        ``U(∅)`` and ``U(N)`` (arrival order).
    """

    values: np.ndarray
    stderr: np.ndarray
    permutations: int
    truncated_steps: int
    empty_score: float
    full_score: float


def leave_one_out(utility: SequentialUtility, order: Sequence[int] | None = None) -> np.ndarray:
    """Leave-one-out values ``U(N) - U(N without i)``, the coalition taken in ``order``.

    Parameters
    ----------
    utility : SequentialUtility
    order : sequence of int, optional
        Arrival order of the owners (default ``0..n-1``).

    Returns
    -------
    ndarray of shape (n,)
    """
    order = list(range(utility.n)) if order is None else list(order)
    full = utility(order)
    values = np.zeros(utility.n)
    for i in order:
        values[i] = full - utility([j for j in order if j != i])
    return values


def monte_carlo_shapley(
    utility: SequentialUtility,
    *,
    max_permutations: int = 200,
    min_permutations: int = 20,
    tolerance: float = 1e-3,
    truncation_tol: float = 1e-4,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> ShapleyResult:
    """Truncated Monte-Carlo (permutation) Shapley values of the owners.

    Parameters
    ----------
    utility : SequentialUtility
    max_permutations : int
        Hard bound on the permutations sampled.
    min_permutations : int
        Permutations before the convergence test may stop the estimate.
    tolerance : float
        Stop once every value's standard error is below this (score units).
    truncation_tol : float
        Within one permutation, stop scanning once ``|U(N) - U(prefix)|`` is at most this;
        the remaining owners' marginals in that permutation count as 0. ``0`` disables it.
    seed : int
        Seed of the permutation generator (results are reproducible).
    progress : callable, optional
        ``progress(done, max_permutations)`` after each permutation.

    Returns
    -------
    ShapleyResult
    """
    if max_permutations < 1 or min_permutations < 1:
        raise ConfigError("max_permutations and min_permutations must be >= 1")
    if tolerance < 0 or truncation_tol < 0:
        raise ConfigError("tolerance and truncation_tol must be >= 0")
    n = utility.n
    rng = np.random.default_rng(seed)
    empty = utility.score_weights(utility.w0)
    full = utility(range(n))
    sums = np.zeros(n)
    sq = np.zeros(n)
    truncated = 0
    done = 0
    for done in range(1, max_permutations + 1):
        perm = rng.permutation(n)
        w, held = utility.w0.copy(), utility.base_rows
        prev = empty
        for j, i in enumerate(perm):
            if truncation_tol and abs(full - prev) <= truncation_tol:
                truncated += n - j
                break
            w, held = utility.step(w, i, held)
            cur = utility.score_weights(w)
            marginal = cur - prev
            sums[i] += marginal
            sq[i] += marginal * marginal
            prev = cur
        if progress is not None:
            progress(done, max_permutations)
        if done >= min_permutations and done > 1:
            mean = sums / done
            var = np.maximum(sq / done - mean * mean, 0.0) * done / (done - 1)
            if np.all(np.sqrt(var / done) <= tolerance):
                break
    mean = sums / done
    var = np.maximum(sq / done - mean * mean, 0.0) * (done / (done - 1) if done > 1 else 0.0)
    return ShapleyResult(
        values=mean,
        stderr=np.sqrt(var / done),
        permutations=done,
        truncated_steps=truncated,
        empty_score=empty,
        full_score=full,
    )
