"""The lender's curvature prior: what owners assume about the rows the model already holds.

An owner's row-weighted Newton step (:func:`hessian_common.learning.updates.proximal_newton`)
is recursive least squares: it adds its own ``N`` rows to a model that already holds ``M``
rows. Pooling them exactly would need the model's precision (the Hessian of everything the
model has seen)::

    H_M = Σ_{rows r in the model} x_r x_rᵀ/4 + (λ·M + Λ)·D            D = diag(0, 1, …, 1)

and the exact pooled step would be ``w' = (H_M + N·A)⁻¹ (H_M·w − N·b)``. Nobody holds ``H_M``:
the lender does not see the owners' rows and the owner sees only its own. Before this prior
the owner estimated ``H_M ≈ M·(A + φI)`` from its own ``A``; with 70 rows in 62 dimensions
``A`` is nearly singular and the step forgets what earlier owners taught the model (issue 17).

The lender knows its own loans, so it publishes, in the model spec, their **feature second
moments** (never labels)::

    S_seed = X_seedᵀX_seed / (4·n_seed)          the rows w0 was fitted on (exact)
    S_pop  = X_Lᵀ X_L / (4·n_L)                  all its loans, seed ∪ hold-out: a population
                                                 estimate of an owner row's curvature
    Λ      = ridge                               a total L2 penalty (a N(0, Λ⁻¹) prior on w)

and every owner estimates the model's precision as the seed's exact curvature plus the
population estimate for the ``M − n_seed`` rows accepted since::

    H̃(M) = n_seed·S_seed + (M − n_seed)·S_pop + (λ·M + Λ)·D

The lender's initial model is the minimiser of the same objective on its seed rows::

    w0 = −(n_seed·(S_seed + λD) + ΛD)⁻¹ · n_seed·b_seed

so ``H̃(n_seed)`` *is* the precision of ``w0``, and the first owner's step is exactly the pooled
fit of seed and owner rows. Later steps replace the accepted owners' own curvature by the
population estimate, the only error left. Measured on the small-owner file of README.md
(1,000 applications, 62 features, 10 owners of 70 rows, 10 splits, every update accepted):
0.994 of the centralized AUC on the hold-out, 0.997 on fresh applications, in one pass; in
tests/learning/test_prior.py 10 owners of 70 rows in 40 dimensions end at 3 % of ``w0``'s
excess pooled loss, the owner's-own-curvature step at 19 %.

What publishing it reveals: the means, variances and pairwise co-moments of the lender's
preprocessed features (for one-hot columns, how often each level and each pair of levels
occur in its book) over the seed rows and over all its loans — the hold-out's feature
moments included, never a label, never a row. Means and standard deviations were already in
the preprocessing. ``Λ`` also enters the lender's ``w0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hessian_common.errors import DataError
from hessian_common.learning.updates import statistics

if TYPE_CHECKING:
    from hessian_common.learning.spec import ModelSpec

PRIOR_FORMAT = "hessian.curvature-prior/1"
DEFAULT_RIDGE = 1.0
"""Total ridge ``Λ`` (the precision of a N(0, Λ⁻¹) prior on each non-intercept weight). 1.0
matches the centralized baseline's penalty (scikit-learn's ``C = 1`` adds ``½‖w‖²`` to a
log-loss whose Hessian per row is ``≈ xxᵀ/4``, as the Taylor loss's). Measured on the
small-owner file of README.md (10 splits, 62 features, the per-row λ = 1e-4 alone is 0.1 in
all): Λ = 0 gives 0.994 / 0.982 (mean / worst hold-out ratio) and 0.990 / 0.979 on fresh
applications, Λ = 1 gives 0.999 / 0.987 and 0.997 / 0.987."""

SIGNIFICANT = 12
"""Significant digits kept for each published moment (canonical JSON stays short)."""


def _penalty(d: int) -> np.ndarray:
    """``D = diag(0, 1, …, 1)``: every weight but the intercept is penalised."""
    pen = np.ones(d)
    pen[0] = 0.0
    return np.diag(pen)


def _round(x: float) -> float:
    return float(f"{x:.{SIGNIFICANT}g}")


def _upper(m: np.ndarray) -> list[float]:
    i, j = np.triu_indices(m.shape[0])
    return [_round(v) for v in m[i, j]]


def _from_upper(values: Any, d: int, what: str) -> np.ndarray:
    want = d * (d + 1) // 2
    if not isinstance(values, list) or len(values) != want:
        raise DataError(f"{what}: expected the {want} upper-triangle entries of a {d}×{d} matrix")
    ok = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if not ok or not all(math.isfinite(v) for v in values):
        raise DataError(f"{what}: entries must be finite numbers")
    m = np.zeros((d, d))
    i, j = np.triu_indices(d)
    m[i, j] = values
    m[j, i] = values
    return m


def second_moment(X: Any) -> np.ndarray:
    """``XᵀX / (4n)``: the per-row curvature of the Taylor loss, shape (d, d)."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] == 0:
        raise DataError(f"X must be a non-empty 2-D array, got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise DataError("X has non-finite values")
    return X.T @ X / (4 * X.shape[0])


@dataclass(frozen=True)
class CurvaturePrior:
    """The lender's published feature second moments and ridge (module docstring).

    Attributes
    ----------
    seed : ndarray of shape (d, d)
        ``S_seed = X_seedᵀX_seed/(4·n_seed)``.
    seed_rows : int
        ``n_seed``.
    population : ndarray of shape (d, d)
        ``S_pop`` over all the lender's loans.
    population_rows : int
        ``n_L``.
    ridge : float
        Total ridge ``Λ >= 0``.
    """

    seed: np.ndarray
    seed_rows: int
    population: np.ndarray
    population_rows: int
    ridge: float = DEFAULT_RIDGE

    def __post_init__(self) -> None:
        what = "curvature prior"
        for name in ("seed", "population"):
            m = np.asarray(getattr(self, name), dtype=float)
            if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] < 1:
                raise DataError(f"{what}: {name} must be a square matrix, got {m.shape}")
            if not np.all(np.isfinite(m)):
                raise DataError(f"{what}: {name} has non-finite entries")
            object.__setattr__(self, name, m)
        if self.seed.shape != self.population.shape:
            raise DataError(
                f"{what}: seed is {self.seed.shape}, population {self.population.shape}"
            )
        for name in ("seed_rows", "population_rows"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
                raise DataError(f"{what}: {name} must be a positive integer, got {v!r}")
        ridge = self.ridge
        if not (isinstance(ridge, int | float) and math.isfinite(ridge)) or ridge < 0:
            raise DataError(f"{what}: ridge must be a number >= 0, got {self.ridge!r}")

    @property
    def dim(self) -> int:
        """Number of weights d."""
        return self.seed.shape[0]

    def precision(self, model_rows: float, l2: float = 0.0) -> np.ndarray:
        """``H̃(M) = n_s·S_seed + (M − n_s)·S_pop + (λM + Λ)·D`` (``M < n_s``: ``M·S_seed``)."""
        if not model_rows >= 0:
            raise DataError(f"model_rows must be >= 0, got {model_rows}")
        m = float(model_rows)
        n_s = float(self.seed_rows)
        H = min(m, n_s) * self.seed + max(m - n_s, 0.0) * self.population
        return H + (l2 * m + self.ridge) * _penalty(self.dim)

    def initial_weights(self, X_seed: Any, y_seed: Any, l2: float = 0.0) -> np.ndarray:
        """``w0 = −(n_s(S_seed + λD) + ΛD)⁻¹ n_s b_seed``: the lender's initial model.

        ``X_seed`` must be the rows ``seed`` was computed from (checked by their count).
        """
        X = np.asarray(X_seed, dtype=float)
        if X.shape != (self.seed_rows, self.dim):
            raise DataError(
                f"seed rows have shape {X.shape}, the prior was fitted on "
                f"({self.seed_rows}, {self.dim})"
            )
        _, b = statistics(X, y_seed, l2=0.0)
        H = self.precision(self.seed_rows, l2)
        return -np.linalg.solve(H + 1e-9 * np.eye(self.dim), self.seed_rows * b)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the upper triangles, rounded to :data:`SIGNIFICANT` digits."""
        return {
            "format": PRIOR_FORMAT,
            "dim": self.dim,
            "seed_rows": int(self.seed_rows),
            "seed": _upper(self.seed),
            "population_rows": int(self.population_rows),
            "population": _upper(self.population),
            "ridge": float(self.ridge),
        }

    @classmethod
    def from_dict(cls, d: Any) -> CurvaturePrior:
        """Inverse of :meth:`to_dict`; :class:`DataError` naming what is wrong."""
        what = "curvature prior"
        if not isinstance(d, dict) or d.get("format") != PRIOR_FORMAT:
            raise DataError(f"{what}: not a {PRIOR_FORMAT} object")
        dim = d.get("dim")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise DataError(f"{what}: dim must be a positive integer")
        ridge = d.get("ridge", DEFAULT_RIDGE)
        if isinstance(ridge, bool) or not isinstance(ridge, int | float):
            raise DataError(f"{what}: ridge must be a number")
        return cls(
            seed=_from_upper(d.get("seed"), dim, f"{what} seed"),
            seed_rows=d.get("seed_rows"),
            population=_from_upper(d.get("population"), dim, f"{what} population"),
            population_rows=d.get("population_rows"),
            ridge=float(ridge),
        )

    def rounded(self) -> CurvaturePrior:
        """The prior as owners read it from the spec (published entries are rounded)."""
        return CurvaturePrior.from_dict(self.to_dict())


def fit_prior(X_seed: Any, X_lender: Any, ridge: float = DEFAULT_RIDGE) -> CurvaturePrior:
    """The prior of a lender whose seed rows are ``X_seed`` and whose loans are ``X_lender``.

    Parameters
    ----------
    X_seed : ndarray of shape (n_seed, d)
        Preprocessed seed rows (what ``w0`` is fitted on).
    X_lender : ndarray of shape (n_L, d)
        Every preprocessed loan of the lender (seed and hold-out): features only.
    ridge : float
        Total ridge ``Λ``.
    """
    Xs = np.asarray(X_seed, dtype=float)
    XL = np.asarray(X_lender, dtype=float)
    if Xs.ndim != 2 or XL.ndim != 2 or Xs.shape[1] != XL.shape[1]:
        raise DataError(f"seed rows {Xs.shape} and lender rows {XL.shape} differ in columns")
    return CurvaturePrior(
        second_moment(Xs), int(Xs.shape[0]), second_moment(XL), int(XL.shape[0]), float(ridge)
    ).rounded()


def initial_model(
    X_seed: Any,
    y_seed: Any,
    X_holdout: Any,
    *,
    l2: float = 1e-4,
    ridge: float = DEFAULT_RIDGE,
) -> tuple[np.ndarray, CurvaturePrior]:
    """What a lender publishes to start a task: ``(w0, prior)`` (module docstring).

    The prior is built from the seed rows and from seed ∪ hold-out (features only), rounded as
    the spec stores it, and ``w0`` is fitted with that same prior, so the first owner's step
    is the exact pooled fit of the seed and its rows.
    """
    XL = np.vstack([np.asarray(X_seed, dtype=float), np.asarray(X_holdout, dtype=float)])
    prior = fit_prior(X_seed, XL, ridge)
    return prior.initial_weights(X_seed, y_seed, l2), prior


def prior_of(spec: ModelSpec) -> CurvaturePrior | None:
    """The spec's prior (``None`` for specs without one, written before it existed)."""
    d = getattr(spec, "prior", None)
    return None if d is None else CurvaturePrior.from_dict(d)


__all__ = [
    "DEFAULT_RIDGE",
    "PRIOR_FORMAT",
    "CurvaturePrior",
    "fit_prior",
    "initial_model",
    "prior_of",
    "second_moment",
]
