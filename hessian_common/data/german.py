"""Generated consumer-credit applications in the layout of the Statlog German credit data.

The small-owner regime of issue 17 (a real public file read through a schema file alone: 1,000
applications, 20 columns of which 13 categorical, 62 features after one-hot with an "other"
bucket per column) cannot be downloaded here, so this writes data with its shape and its
difficulty: the same 20 application columns and levels (readable labels, as in OpenML's
``credit-g``), the same marginal mixes (e.g. checking account ``<0`` 27 %, ``no checking``
39 %; duration 4–72 months, median 18; amount 250–18,424 DM, median ≈ 2,300) and a default
("bad") rate of 30 %. Its schema is the built-in ``german_credit`` (``schemas/german_credit.toml``).

The model behind it, per application::

    u      ~ N(0, 1)                                   hidden stability (savings, job, age)
    categorical columns drawn from their mixes, tilted by u where they are correlated in the
    real data (checking, savings, employment, housing/property, job)
    duration, amount: log-normal, correlated (ρ ≈ 0.6), amount rising with duration
    logit P(bad) = a + Σ_c effect_c[level] + 0.028·(duration − 21) + 0.25·log(amount/2300)
                   + 0.22·(installment_commitment − 3) − 0.012·(age − 35) + ...
                   + N(0, 0.5)                          (unobserved)

with the level effects of a logistic regression on the real file (checking ``no checking``
−1.7, credit history ``critical`` −1.5, purpose ``used car`` −1.5, savings ``>=1000`` −1.2,
foreign worker ``no`` −1.2, ...) and ``a`` solved so that 30 % default. A logistic regression
fitted on 800 rows scores ROC AUC ≈ 0.76–0.80 on the other 200, as on the real file.

Everything is drawn from one ``numpy.random.Generator``; the same seed gives identical bytes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from hessian_common.errors import DataError

SCHEMA_NAME = "german_credit"
LABEL = "class"

LEVELS: dict[str, dict[str, tuple[float, float, float]]] = {
    # column: {level: (share, effect on the log-odds of "bad", tilt by hidden stability u)}
    "checking_status": {
        "<0": (0.274, 0.0, -0.5), "0<=X<200": (0.269, -0.45, -0.1),
        ">=200": (0.063, -1.0, 0.2), "no checking": (0.394, -1.7, 0.4),
    },
    "credit_history": {
        "no credits/all paid": (0.040, 0.0, -0.3), "all paid": (0.049, -0.1, -0.2),
        "existing paid": (0.530, -0.9, 0.0), "delayed previously": (0.088, -1.0, 0.0),
        "critical/other existing credit": (0.293, -1.5, 0.2),
    },
    "purpose": {
        "new car": (0.234, 0.0, 0.0), "used car": (0.103, -1.5, 0.2),
        "furniture/equipment": (0.181, -0.8, 0.0), "radio/tv": (0.280, -0.9, 0.0),
        "domestic appliance": (0.012, -0.5, 0.0), "repairs": (0.022, -0.4, 0.0),
        "education": (0.050, 0.0, 0.0), "retraining": (0.009, -1.6, 0.0),
        "business": (0.097, -0.8, 0.1), "other": (0.012, -1.0, 0.0),
    },
    "savings_status": {
        "<100": (0.603, 0.0, -0.3), "100<=X<500": (0.103, -0.3, 0.1),
        "500<=X<1000": (0.063, -0.5, 0.3), ">=1000": (0.048, -1.2, 0.5),
        "no known savings": (0.183, -0.9, 0.2),
    },
    "employment": {
        "unemployed": (0.062, 0.0, -0.3), "<1": (0.172, 0.1, -0.3),
        "1<=X<4": (0.339, -0.1, 0.0), "4<=X<7": (0.174, -0.6, 0.2),
        ">=7": (0.253, -0.3, 0.3),
    },
    "personal_status": {
        "male div/sep": (0.050, 0.0, 0.0), "female div/dep/mar": (0.310, -0.2, 0.0),
        "male single": (0.548, -0.7, 0.0), "male mar/wid": (0.092, -0.4, 0.0),
    },
    "other_parties": {
        "none": (0.907, 0.0, 0.0), "co applicant": (0.041, 0.3, 0.0),
        "guarantor": (0.052, -0.9, 0.0),
    },
    "property_magnitude": {
        "real estate": (0.282, 0.0, 0.3), "life insurance": (0.232, 0.2, 0.0),
        "car": (0.332, 0.2, 0.0), "no known property": (0.154, 0.6, -0.2),
    },
    "other_payment_plans": {
        "bank": (0.139, 0.0, 0.0), "stores": (0.047, -0.1, 0.0), "none": (0.814, -0.6, 0.0),
    },
    "housing": {
        "rent": (0.179, 0.0, -0.2), "own": (0.713, -0.5, 0.2), "for free": (0.108, -0.3, 0.0),
    },
    "job": {
        "unemp/unskilled non res": (0.022, 0.0, -0.3), "unskilled resident": (0.200, -0.1, -0.1),
        "skilled": (0.630, 0.0, 0.0), "high qualif/self emp/mgmt": (0.148, -0.1, 0.2),
    },
    "own_telephone": {"none": (0.596, 0.0, -0.1), "yes": (0.404, -0.3, 0.1)},
    "foreign_worker": {"yes": (0.963, 0.0, 0.0), "no": (0.037, -1.2, 0.0)},
}  # fmt: skip
"""The 13 categorical columns: their levels in the real file's order (the first is the
reference level of the one-hot encoding), each level's share, its effect on the log-odds of a
default and how strongly the hidden stability ``u`` tilts towards it."""

NUMERIC = (
    "duration", "credit_amount", "installment_commitment", "residence_since", "age",
    "existing_credits", "num_dependents",
)  # fmt: skip
"""The 7 numeric columns."""

COLUMNS = [
    "checking_status", "duration", "credit_history", "purpose", "credit_amount",
    "savings_status", "employment", "installment_commitment", "personal_status",
    "other_parties", "residence_since", "property_magnitude", "age", "other_payment_plans",
    "housing", "existing_credits", "job", "num_dependents", "own_telephone", "foreign_worker",
    LABEL,
]  # fmt: skip
"""Columns of the file, in the real file's order, the label (``good`` / ``bad``) last."""

DEFAULT_RATE = 0.30


def _draw(rng: np.random.Generator, levels: dict, u: np.ndarray) -> np.ndarray:
    """One categorical column: the mix, tilted towards each level by ``tilt · u``."""
    names = np.array(list(levels), dtype=object)
    share = np.array([v[0] for v in levels.values()])
    tilt = np.array([v[2] for v in levels.values()])
    logits = np.log(share)[None, :] + 1.5 * tilt[None, :] * u[:, None]
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    # Keep the marginal mix: rescale each level's probabilities so their mean is its share.
    for _ in range(3):
        p *= (share / p.mean(axis=0))[None, :]
        p /= p.sum(axis=1, keepdims=True)
    cum = p.cumsum(axis=1)
    pick = (rng.random(len(u))[:, None] > cum).sum(axis=1)
    return names[np.minimum(pick, len(names) - 1)]


def generate_applications(
    rows: int = 1000,
    seed: int | np.random.Generator = 0,
    *,
    missing_fraction: float = 0.0,
) -> pd.DataFrame:
    """Draw ``rows`` applications as a DataFrame with the file's columns (:data:`COLUMNS`).

    Parameters
    ----------
    rows : number of applications (>= 1).
    seed : integer seed or a ``numpy.random.Generator``; the same seed gives the same frame.
    missing_fraction : share of cells left blank in each feature column (the real file has
        none; > 0 exercises the missing-value rules).
    """
    if not isinstance(rows, int | np.integer) or rows < 1:
        raise DataError(f"rows must be a positive integer, got {rows!r}")
    if not 0.0 <= missing_fraction < 0.5:
        raise DataError(f"missing_fraction must be in [0, 0.5), got {missing_fraction}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(rows)
    u = rng.standard_normal(n)
    cats = {name: _draw(rng, levels, u) for name, levels in LEVELS.items()}

    # Duration and amount: log-normal, correlated; the amount grows with the duration.
    z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
    duration = np.exp(np.log(18) + 0.55 * z1)
    duration = np.clip(np.round(duration / 3) * 3, 4, 72)
    duration = np.where(rng.random(n) < 0.15, np.round(duration / 12) * 12, duration)
    duration = np.clip(duration, 4, 72)
    amount = np.exp(np.log(2300) + 0.7 * (0.6 * z1 + 0.8 * z2) + 0.05 * u)
    amount = np.clip(np.round(amount), 250, 18424)
    monthly = amount / duration
    commitment = np.clip(
        np.round(3.3 - 0.6 * _std(np.log(monthly)) + 0.9 * rng.standard_normal(n)), 1, 4
    )
    residence = np.clip(np.round(2.85 + 1.1 * rng.standard_normal(n)), 1, 4)
    age = np.clip(np.round(19 + rng.gamma(2.2, 7.4, n) + 2.0 * u), 19, 75)
    credits = np.clip(
        1
        + rng.poisson(
            0.35 + 0.25 * (cats["credit_history"] == "critical/other existing credit"), n
        ),
        1,
        4,
    )
    dependents = np.where(rng.random(n) < 0.155, 2, 1)

    effect = np.zeros(n)
    for name, levels in LEVELS.items():
        eff = {k: v[1] for k, v in levels.items()}
        effect += np.array([eff[v] for v in cats[name]])
    effect += (
        0.028 * (duration - 21)
        + 0.25 * np.log(amount / 2300)
        + 0.22 * (commitment - 3)
        - 0.012 * (age - 35)
        + 0.15 * (credits - 1)
        + 0.1 * (dependents - 1)
        + 0.02 * (residence - 2.85)
        + rng.normal(0.0, 0.5, n)
    )
    a = np.log(DEFAULT_RATE / (1 - DEFAULT_RATE)) - effect.mean()
    for _ in range(30):  # solve the intercept so that the default rate is 30 %
        p = 1 / (1 + np.exp(-(a + effect)))
        a -= (p.mean() - DEFAULT_RATE) / max((p * (1 - p)).mean(), 1e-9)
    bad = rng.random(n) < 1 / (1 + np.exp(-(a + effect)))

    frame = pd.DataFrame(
        {
            "checking_status": cats["checking_status"],
            "duration": duration,
            "credit_history": cats["credit_history"],
            "purpose": cats["purpose"],
            "credit_amount": amount,
            "savings_status": cats["savings_status"],
            "employment": cats["employment"],
            "installment_commitment": commitment,
            "personal_status": cats["personal_status"],
            "other_parties": cats["other_parties"],
            "residence_since": residence,
            "property_magnitude": cats["property_magnitude"],
            "age": age,
            "other_payment_plans": cats["other_payment_plans"],
            "housing": cats["housing"],
            "existing_credits": credits.astype(float),
            "job": cats["job"],
            "num_dependents": dependents.astype(float),
            "own_telephone": cats["own_telephone"],
            "foreign_worker": cats["foreign_worker"],
            LABEL: np.where(bad, "bad", "good").astype(object),
        }
    )
    if missing_fraction:
        for col in COLUMNS[:-1]:
            blank = rng.random(n) < missing_fraction
            frame[col] = frame[col].astype(object).where(~blank, None)
    return frame


def _std(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-12)


def write_applications(frame: pd.DataFrame, out: str | Path | io.TextIOBase) -> None:
    """Write applications as a plain CSV (header line, minimal quoting, numbers as integers)."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"frame lacks column(s) {', '.join(missing)}")
    text = {}
    for c in COLUMNS:
        s = frame[c]
        if c in NUMERIC:
            v = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            text[c] = ["" if not np.isfinite(x) else f"{x:.0f}" for x in v]
        else:
            text[c] = ["" if x is None or x != x else str(x) for x in s]
    own = not isinstance(out, io.TextIOBase)
    fh = open(out, "w", encoding="utf-8", newline="") if own else out  # noqa: SIM115
    try:
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(COLUMNS)
        w.writerows(zip(*(text[c] for c in COLUMNS), strict=True))
    finally:
        if own:
            fh.close()
