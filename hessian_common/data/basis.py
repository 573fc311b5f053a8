"""Basis expansions of a numeric feature: still linear in the model's weights.

The encrypted update only needs the model to be linear in its parameters, ``s = x·w``; the
features ``x`` can be any fixed functions of an application, fitted once by the lender on its
own loans and published with the preprocessing, so owners and the deployed credit model apply
exactly the same map. For a numeric column ``v`` (after its fill, clip and log, before
standardisation; ``z`` is its standardised value):

- **restricted cubic spline** (natural spline, Stone & Koo 1985; Harrell's parametrisation)
  with knots ``t_1 < … < t_K`` at quantiles of the lender's values: ``K − 2`` extra columns::

      f_j(v) = [ (v − t_j)₊³ − (v − t_{K−1})₊³ (t_K − t_j)/(t_K − t_{K−1})
                            + (v − t_K)₊³ (t_{K−1} − t_j)/(t_K − t_{K−1}) ] / (t_K − t_1)²

  for ``j = 1 … K − 2``: cubic between the knots, linear beyond the outer ones, so a weight
  never explodes in the tails. With the linear term ``z`` already in ``x``, ``z`` and the
  ``f_j`` span every natural cubic spline with these knots. Knot quantiles (Harrell):
  K = 3: 10/50/90 %, 4: 5/35/65/95 %, 5: 5/27.5/50/72.5/95 %, 6 and 7 likewise.
- **quantile bins**: cut points at the ``1/B … (B−1)/B`` quantiles; ``B − 1`` 0/1 columns
  ``[v > c_k]``... one per bin after the first (the reference), like a one-hot encoding.
- **weight of evidence** (the credit scorecard's): the same bins, one column
  ``WoE_b = ln((bad_b + ½)/(bad + ½B)) − ln((good_b + ½)/(good + ½B))`` (the add-½
  smoothing keeps empty bins finite), from the lender's labels.
- **missing indicator**: ``[v was missing]``, before the column's fill value replaced it.
- **interaction**: ``z_a·z_b`` of two numeric features.

Each extra numeric column (spline term, WoE, interaction) is standardised on the lender's data
(mean, std; std 0 -> 1); bin and indicator columns stay 0/1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hessian_common.errors import DataError

KNOT_QUANTILES = {
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
    6: (0.05, 0.23, 0.41, 0.59, 0.77, 0.95),
    7: (0.025, 0.1833, 0.3417, 0.50, 0.6583, 0.8167, 0.975),
}
"""Harrell's knot placements (Regression Modeling Strategies, table 2.3)."""


def spline_knots(v: np.ndarray, knots: int) -> list[float]:
    """Knots at :data:`KNOT_QUANTILES` of ``v``, each an observed value (the nearest order
    statistic), duplicates dropped; fewer than 3 distinct knots (a column with few distinct
    values, e.g. 0/1) -> ``[]``: no spline.
    """
    if knots not in KNOT_QUANTILES:
        raise DataError(f"a spline needs 3 to 7 knots, got {knots}")
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return []
    t = sorted({float(x) for x in np.quantile(v, KNOT_QUANTILES[knots], method="nearest")})
    return t if len(t) >= 3 else []


def spline_terms(v: np.ndarray, t: list[float]) -> np.ndarray:
    """The ``K − 2`` restricted cubic spline columns of ``v`` (module docstring), (n, K − 2)."""
    v = np.asarray(v, dtype=float)
    k = len(t)
    if k < 3:
        return np.zeros((v.size, 0))
    tk, tk1 = t[-1], t[-2]
    scale = (tk - t[0]) ** 2

    def cube(a: float) -> np.ndarray:
        return np.maximum(v - a, 0.0) ** 3

    cols = [
        (cube(t[j]) - cube(tk1) * (tk - t[j]) / (tk - tk1) + cube(tk) * (tk1 - t[j]) / (tk - tk1))
        / scale
        for j in range(k - 2)
    ]
    return np.column_stack(cols)


def bin_cuts(v: np.ndarray, bins: int) -> list[float]:
    """Distinct interior cut points at the ``k/bins`` quantiles of ``v`` (may be fewer)."""
    v = np.asarray(v, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0 or bins < 2:
        return []
    qs = np.quantile(v, np.arange(1, bins) / bins)
    lo, hi = float(v.min()), float(v.max())
    return sorted({float(q) for q in qs if lo <= q < hi})


def bin_index(v: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Bin of each value: 0 for ``v <= c_1``, k for ``c_k < v <= c_{k+1}``, len(cuts) above."""
    return np.searchsorted(np.asarray(cuts, dtype=float), np.asarray(v, dtype=float), side="left")


def bin_columns(v: np.ndarray, cuts: list[float]) -> np.ndarray:
    """0/1 columns, one per bin after the first: shape (n, len(cuts))."""
    idx = bin_index(v, cuts)
    return (idx[:, None] == np.arange(1, len(cuts) + 1)[None, :]).astype(float)


def woe_values(v: np.ndarray, y: Any, cuts: list[float]) -> list[float]:
    """Smoothed weight of evidence of each bin (module docstring), from labels ``y``."""
    y = np.asarray(y, dtype=float).ravel()
    if y.shape[0] != np.asarray(v).shape[0]:
        raise DataError(f"{np.asarray(v).shape[0]} values but {y.shape[0]} labels")
    idx = bin_index(v, cuts)
    n_bins = len(cuts) + 1
    bad_b = np.bincount(idx, weights=y, minlength=n_bins)
    all_b = np.bincount(idx, minlength=n_bins).astype(float)
    good_b = all_b - bad_b
    bad, good = bad_b.sum(), good_b.sum()
    woe = np.log((bad_b + 0.5) / (bad + 0.5 * n_bins)) - np.log(
        (good_b + 0.5) / (good + 0.5 * n_bins)
    )
    return [float(x) for x in woe]


def woe_column(v: np.ndarray, cuts: list[float], woe: list[float]) -> np.ndarray:
    """The WoE of each value's bin, shape (n,)."""
    return np.asarray(woe, dtype=float)[bin_index(v, cuts)]


def standardise(col: np.ndarray) -> tuple[float, float]:
    """``(mean, std)`` of a column on the fit data (std 0 -> 1)."""
    col = np.asarray(col, dtype=float)
    std = float(col.std())
    return float(col.mean()), (std if std > 1e-12 else 1.0)
