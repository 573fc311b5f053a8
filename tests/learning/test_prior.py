"""The lender's curvature prior and the composition of many small owners' steps."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hessian_common.crypto import encrypt_vector, generate_keypair
from hessian_common.errors import DataError
from hessian_common.learning.prior import (
    CurvaturePrior,
    fit_prior,
    initial_model,
    prior_of,
    second_moment,
)
from hessian_common.learning.spec import ModelSpec
from hessian_common.learning.updates import newton_by_rows, proximal_newton, statistics


def _rows(rng: np.random.Generator, n: int, d: int, beta: np.ndarray) -> tuple:
    """Rows like a preprocessed credit file: numbers and sparse 0/1 columns, intercept first."""
    dense = rng.normal(size=(n, d // 3))
    levels = rng.random((n, d - 1 - d // 3)) < rng.uniform(0.02, 0.4, d - 1 - d // 3)
    X = np.column_stack([np.ones(n), dense, levels.astype(float)])
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ beta)))).astype(float)
    return X, y


@pytest.fixture(scope="module")
def small_owners():
    """A 100-row seed, a 200-row hold-out and 10 owners of 70 rows in d = 40 dimensions."""
    rng = np.random.default_rng(17)
    d = 40
    beta = np.concatenate([[-1.0], rng.normal(0, 0.4, d - 1)])
    seed = _rows(rng, 100, d, beta)
    hold = _rows(rng, 200, d, beta)
    owners = [_rows(rng, 70, d, beta) for _ in range(10)]
    return seed, hold, owners, beta


def test_precision_is_seed_then_population_plus_ridge():
    rng = np.random.default_rng(0)
    Xs = np.column_stack([np.ones(30), rng.normal(size=(30, 3))])
    XL = np.vstack([Xs, np.column_stack([np.ones(50), rng.normal(size=(50, 3))])])
    prior = fit_prior(Xs, XL, ridge=2.0)
    D = np.diag([0.0, 1, 1, 1])
    np.testing.assert_allclose(prior.seed, Xs.T @ Xs / 120, rtol=1e-11)
    np.testing.assert_allclose(prior.population, XL.T @ XL / 320, rtol=1e-11)
    H = prior.precision(130, l2=0.01)
    expected = 30 * prior.seed + 100 * prior.population + (0.01 * 130 + 2.0) * D
    np.testing.assert_allclose(H, expected, rtol=1e-12)
    np.testing.assert_allclose(prior.precision(10), 10 * prior.seed + 2.0 * D, rtol=1e-12)
    with pytest.raises(DataError, match="model_rows"):
        prior.precision(-1)


def test_initial_model_is_the_seed_fit_under_the_prior_and_the_first_step_is_pooled(
    small_owners,
):
    """H̃(n_seed) is the precision of w0, so the first owner's step is exactly the pooled fit
    of the seed and its rows (same ridge)."""
    (Xs, ys), (Xh, _), owners, _ = small_owners
    w0, prior = initial_model(Xs, ys, Xh, l2=1e-4, ridge=1.0)
    d = Xs.shape[1]
    D = np.diag([0.0] + [1.0] * (d - 1))
    A, b = statistics(Xs, ys, l2=1e-4)
    np.testing.assert_allclose(len(ys) * (A + D / len(ys)) @ w0, -len(ys) * b, atol=1e-8)
    X1, y1 = owners[0]
    w1 = proximal_newton(X1, y1, l2=1e-4, model_rows=len(ys), prior=prior).apply(w0)
    Xp, yp = np.vstack([Xs, X1]), np.concatenate([ys, y1])
    Ap, bp = statistics(Xp, yp, l2=1e-4)
    pooled = -np.linalg.solve(len(yp) * Ap + D, len(yp) * bp)
    np.testing.assert_allclose(w1, pooled, atol=1e-6)


def test_prior_composes_ten_small_owners_close_to_the_pooled_fit(small_owners):
    """70 rows in 40 dimensions: with the lender's prior the one-pass model lands near the
    pooled fit; the owner's own curvature (no prior) does not."""
    (Xs, ys), (Xh, _yh), owners, _ = small_owners
    w0, prior = initial_model(Xs, ys, Xh, l2=1e-4, ridge=1.0)
    d = Xs.shape[1]
    D = np.diag([0.0] + [1.0] * (d - 1))
    Xp = np.vstack([Xs] + [X for X, _ in owners])
    yp = np.concatenate([ys] + [y for _, y in owners])
    Ap, bp = statistics(Xp, yp, l2=1e-4)
    pooled = -np.linalg.solve(len(yp) * Ap + D, len(yp) * bp)

    def compose(with_prior: bool) -> np.ndarray:
        w, m = w0.copy(), len(ys)
        for X, y in owners:
            step = newton_by_rows(X, y, l2=1e-4, prior=prior if with_prior else None)
            w = step.at(m).apply(w)
            m += len(y)
        return w

    H = len(yp) * Ap + D

    def dist(w: np.ndarray) -> float:  # the excess pooled loss, relative to w0's
        return float((w - pooled) @ H @ (w - pooled)) / float((w0 - pooled) @ H @ (w0 - pooled))

    with_prior, own = dist(compose(True)), dist(compose(False))
    assert with_prior < 0.05, with_prior
    assert with_prior < 0.25 * own, (with_prior, own)


def test_round_trip_and_rounding_of_the_published_prior(small_owners):
    (Xs, ys), (Xh, _), _, _ = small_owners
    _, prior = initial_model(Xs, ys, Xh)
    d = prior.to_dict()
    assert d["format"] == "hessian.curvature-prior/1" and d["dim"] == Xs.shape[1]
    assert len(d["seed"]) == Xs.shape[1] * (Xs.shape[1] + 1) // 2  # upper triangle only
    again = CurvaturePrior.from_dict(json.loads(json.dumps(d)))
    np.testing.assert_array_equal(again.seed, prior.seed)
    np.testing.assert_array_equal(again.population, prior.population)
    assert again.to_dict() == d  # rounding twice changes nothing
    np.testing.assert_allclose(prior.population, second_moment(np.vstack([Xs, Xh])), rtol=1e-11)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"format": "x"}, "not a hessian.curvature-prior"),
        ({"dim": 0}, "dim"),
        ({"seed": [1.0, 2.0]}, "upper-triangle"),
        ({"population": None}, "upper-triangle"),
        ({"ridge": -1.0}, "ridge"),
        ({"ridge": True}, "ridge"),
        ({"seed_rows": 0}, "seed_rows"),
    ],
)
def test_malformed_prior_is_a_named_error(small_owners, change, message):
    (Xs, ys), (Xh, _), _, _ = small_owners
    d = initial_model(Xs, ys, Xh)[1].to_dict()
    d.update(change)
    with pytest.raises(DataError, match=message):
        CurvaturePrior.from_dict(d)
    bad = initial_model(Xs, ys, Xh)[1].to_dict()
    bad["seed"][0] = float("nan")
    with pytest.raises(DataError, match="finite"):
        CurvaturePrior.from_dict(bad)


def test_spec_carries_the_prior_and_checks_its_size(small_owners):
    (Xs, ys), (Xh, _), _, _ = small_owners
    w0, prior = initial_model(Xs, ys, Xh)
    pk, _ = generate_keypair(256)
    names = ["intercept"] + [f"x{i}" for i in range(1, Xs.shape[1])]
    common = dict(
        name="m", schema_name="s", schema={}, preprocessing={}, public_key=pk,
        weights=encrypt_vector(pk, w0), feature_names=names, rule="newton", seed_rows=100,
    )  # fmt: skip
    spec = ModelSpec(**common, prior=prior.to_dict())
    again = ModelSpec.from_bytes(spec.to_bytes())
    assert again.prior == spec.prior and again.to_bytes() == spec.to_bytes()
    np.testing.assert_array_equal(prior_of(again).population, prior.population)
    old = ModelSpec(**common)  # a spec written before the prior: no key in the JSON
    assert (
        b'"prior"' not in old.to_bytes() and prior_of(ModelSpec.from_bytes(old.to_bytes())) is None
    )
    small = fit_prior(Xs[:, :3], Xh[:, :3]).to_dict()
    with pytest.raises(DataError, match="prior has 3 weights"):
        ModelSpec(**common, prior=small)


def test_prior_of_the_wrong_size_is_refused_by_the_step(small_owners):
    (Xs, _), (Xh, _), owners, _ = small_owners
    X, y = owners[0]
    prior = fit_prior(Xs[:, :5], Xh[:, :5])
    with pytest.raises(DataError, match="prior has 5 weights"):
        proximal_newton(X, y, model_rows=100, prior=prior)
