"""Affine update rules: plaintext maths, encrypted application, naive reference, DP."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification

from hessian_common.crypto import decrypt_vector, encrypt_vector, generate_keypair
from hessian_common.errors import CryptoError, DataError
from hessian_common.learning.updates import (
    P_EXPONENT,
    RULES,
    AffineUpdate,
    DPConfig,
    build_update,
    fit_taylor,
    gradient_step,
    local_epochs,
    naive_encrypted_gradient_step,
    newton_by_rows,
    proximal_newton,
    statistics,
)
from hessian_common.tasks.versions import published_weights


@pytest.fixture(scope="module")
def keys():
    return generate_keypair(512)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(300, 7, random_state=0)
    X = (X - X.mean(0)) / X.std(0)
    return np.hstack([np.ones((300, 1)), X]), y.astype(float)


def test_statistics_is_the_taylor_gradient(data):
    X, y = data
    A, b = statistics(X, y)
    w = np.random.default_rng(1).normal(size=X.shape[1])
    taylor_grad = X.T @ ((0.5 + X @ w / 4) - y) / len(y)
    np.testing.assert_allclose(A @ w + b, taylor_grad, atol=1e-12)


def test_rules_match_their_definitions(data):
    X, y = data
    A, b = statistics(X, y, l2=0.01)
    w = np.random.default_rng(2).normal(size=X.shape[1])
    g = gradient_step(X, y, lr=0.5, l2=0.01)
    np.testing.assert_allclose(g.apply(w), w - 0.5 * (A @ w + b), atol=1e-12)
    e = local_epochs(X, y, lr=0.5, epochs=4, l2=0.01)
    v = w.copy()
    for _ in range(4):
        v = v - 0.5 * (A @ v + b)
    np.testing.assert_allclose(e.apply(w), v, atol=1e-12)
    n = proximal_newton(X, y, mu=0.3, l2=0.01)
    w_new = n.apply(w)  # stationary point of the proximal Taylor objective
    np.testing.assert_allclose(A @ w_new + b + 0.3 * (w_new - w), 0, atol=1e-12)


def test_intercept_not_penalised(data):
    X, y = data
    A0, _ = statistics(X, y)
    A1, _ = statistics(X, y, l2=1.0)
    assert A1[0, 0] == A0[0, 0]
    np.testing.assert_allclose(np.diag(A1 - A0)[1:], 1.0)


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("workers", [1, 2])
def test_encrypted_equals_plaintext(keys, data, rule, workers):
    pk, sk = keys
    X, y = data
    w = np.random.default_rng(4).normal(0, 2, size=X.shape[1])
    w[1] = -w[1] - 1  # make sure negatives are in play
    update = build_update(rule, X, y)
    enc = update.apply_encrypted(encrypt_vector(pk, w), workers=workers)
    np.testing.assert_allclose(decrypt_vector(sk, enc), update.apply(w), atol=1e-6, rtol=0)
    # P is rounded to multiples of 16^P_EXPONENT: error <= d·max|w|·16^P_EXPONENT / 2.
    bound = X.shape[1] * np.max(np.abs(w)) * 16.0**P_EXPONENT / 2
    assert max(abs(decrypt_vector(sk, enc) - update.apply(w))) <= bound


def test_encrypted_with_phe_numbers_of_mixed_exponents(keys, data):
    pk, sk = keys
    X, y = data
    w = np.linspace(-1, 1, X.shape[1])
    nums = [pk.encrypt(float(v)) for v in w]  # phe picks an exponent per value
    update = gradient_step(X, y)
    enc = update.apply_encrypted(nums)
    np.testing.assert_allclose(decrypt_vector(sk, enc), update.apply(w), atol=1e-6)


def test_encrypted_update_is_randomised(keys, data):
    pk, sk = keys
    X, y = data
    enc_w = encrypt_vector(pk, np.zeros(X.shape[1]))
    update = gradient_step(X, y)
    a, b = update.apply_encrypted(enc_w), update.apply_encrypted(enc_w)
    assert a.ciphertexts != b.ciphertexts
    np.testing.assert_allclose(decrypt_vector(sk, a), decrypt_vector(sk, b), atol=1e-12)


@pytest.mark.parametrize("workers", [1, 2])
def test_naive_reference_equals_affine_gradient_step(keys, data, workers):
    pk, sk = keys
    X, y = data
    X, y = X[:60], y[:60]
    w = np.random.default_rng(5).normal(size=X.shape[1])
    enc_w = encrypt_vector(pk, w)
    naive = naive_encrypted_gradient_step(enc_w, X, y, lr=0.7, l2=0.02, workers=workers)
    affine = gradient_step(X, y, lr=0.7, l2=0.02).apply_encrypted(enc_w)
    np.testing.assert_allclose(decrypt_vector(sk, naive), decrypt_vector(sk, affine), atol=1e-6)


def test_dp_noise_shape_and_scale(data):
    X, y = data
    dp = DPConfig(epsilon=1.0, delta=1e-5, clip=3.0)
    A0, b0 = statistics(X, y)
    A, b = statistics(X, y, dp=dp, rng=np.random.default_rng(0))
    assert A.shape == A0.shape and b.shape == b0.shape
    np.testing.assert_allclose(A, A.T)
    assert np.linalg.eigvalsh(A).min() >= -1e-12
    sigma = dp.sigma(len(y))
    assert sigma == pytest.approx(np.hypot(9 / 600, 3 / 300) * np.sqrt(2 * np.log(1.25e5)) / 1.0)
    # Noise on b is Gaussian with std sigma (clipping changes b0 too, so compare many draws).
    draws = np.array([statistics(X, y, dp=dp, rng=np.random.default_rng(s))[1] for s in range(200)])
    assert draws.std(axis=0).mean() == pytest.approx(sigma, rel=0.15)
    u = build_update("newton", X, y, dp=dp, rng=np.random.default_rng(1))
    assert u.P.shape == (X.shape[1], X.shape[1]) and np.all(np.isfinite(u.P))


def test_dp_config_validation():
    for kw in (
        {"epsilon": 0},
        {"epsilon": 2},
        {"epsilon": 0.5, "delta": 1},
        {"epsilon": 1, "clip": 0},
    ):
        with pytest.raises(DataError):
            DPConfig(**kw)


def test_fit_taylor_minimises_taylor_loss(data):
    X, y = data
    w = fit_taylor(X, y, l2=0.0)
    A, b = statistics(X, y)
    np.testing.assert_allclose(A @ w + b, 0, atol=1e-8)


def test_bad_inputs(keys, data):
    pk, _ = keys
    X, y = data
    with pytest.raises(DataError, match="rows"):
        gradient_step(X, y[:-1])
    with pytest.raises(DataError, match="0 or 1"):
        gradient_step(X, y * 2)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(DataError, match="row 3, column 2"):
        gradient_step(Xn, y)
    with pytest.raises(DataError, match="unknown update rule"):
        build_update("sgd", X, y)
    with pytest.raises(DataError, match="no parameter"):
        build_update("newton", X, y, {"lr": 1})
    with pytest.raises(DataError):
        proximal_newton(X, y, mu=0)
    with pytest.raises(DataError):
        local_epochs(X, y, epochs=0)
    update = gradient_step(X, y)
    with pytest.raises(CryptoError, match="entries"):
        update.apply_encrypted(encrypt_vector(pk, [1.0, 2.0]))
    with pytest.raises(DataError, match="weights have"):
        update.apply([1.0])
    with pytest.raises(DataError, match="shape"):
        AffineUpdate(np.eye(2), np.zeros(3), rows=1, rule="gradient")
    with pytest.raises(DataError, match="non-finite"):
        AffineUpdate(np.full((2, 2), np.inf), np.zeros(2), rows=1, rule="gradient")


def test_proximal_newton_with_model_rows(data):
    """model_rows M: P = ρ·K(A + φI), q = −K b, K = ((1 + ρ)A + ρφI)⁻¹, ρ = M/N."""
    X, y = data
    A, b = statistics(X, y, l2=1e-4)
    n, d = X.shape
    u = proximal_newton(X, y, model_rows=900, floor=0.02)
    rho, eye = 900 / n, np.eye(d)
    K = np.linalg.inv((1 + rho) * A + rho * 0.02 * eye)
    np.testing.assert_allclose(u.P, rho * K @ (A + 0.02 * eye), atol=1e-10)
    np.testing.assert_allclose(u.q, -K @ b, atol=1e-10)
    assert u.params == {"mu": 0.5, "l2": 1e-4, "model_rows": 900.0, "floor": 0.02}
    # model_rows = 0 (the default) is the plain step, and its params say nothing new.
    plain = proximal_newton(X, y, mu=0.5)
    np.testing.assert_allclose(plain.P, 0.5 * np.linalg.inv(A + 0.5 * eye), atol=1e-10)
    assert plain.params == {"mu": 0.5, "l2": 1e-4}
    assert build_update("newton", X, y).params == plain.params
    K1 = np.linalg.inv((1 + rho) * A + rho * 0.01 * eye)  # the default floor φ = 0.01
    np.testing.assert_allclose(
        build_update("newton", X, y, {"model_rows": 900}).P, rho * K1 @ (A + 0.01 * eye)
    )
    # Against a model of 3000 rows a 20-row owner barely moves it; a 300-row owner moves it
    # towards its own optimum, about N/(N + M) of the way.
    w = np.zeros(d)
    target = fit_taylor(X, y)
    small = proximal_newton(X[:20], y[:20], model_rows=3000).apply(w)
    big = proximal_newton(X, y, model_rows=3000).apply(w)
    assert np.linalg.norm(small) < 0.1 * np.linalg.norm(big)
    frac = np.linalg.norm(big) / np.linalg.norm(target)
    assert 0.5 * n / (n + 3000) < frac < 2 * n / (n + 3000)
    with pytest.raises(DataError, match="model_rows"):
        proximal_newton(X, y, model_rows=-1)
    with pytest.raises(DataError, match="floor"):
        proximal_newton(X, y, model_rows=10, floor=0)


def test_newton_with_model_rows_is_recursive_least_squares():
    """Owners whose A is the same, applied in turn with M = the rows already in the model,
    land exactly where the pooled fit does (φ → 0)."""
    rng = np.random.default_rng(4)
    d = 4
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    blocks = [np.vstack([Q * 2.0] * k) for k in (50, 100, 30)]  # same XᵀX/N for every owner
    ys = [rng.integers(0, 2, len(B)).astype(float) for B in blocks]
    w = fit_taylor(blocks[0], ys[0], l2=0.0)  # the lender's seed: M = 50·d rows
    M = len(blocks[0])
    for B, yb in zip(blocks[1:], ys[1:], strict=True):
        w = proximal_newton(B, yb, l2=0.0, model_rows=M, floor=1e-12).apply(w)
        M += len(B)
    pooled = fit_taylor(np.vstack(blocks), np.concatenate(ys), l2=0.0)
    np.testing.assert_allclose(w, pooled, atol=1e-6)


def test_newton_by_rows_is_proximal_newton_at_each_size(data):
    X, y = data
    by_rows = newton_by_rows(X, y, mu=0.3, l2=1e-3, floor=0.02)
    assert by_rows.rows == len(y)
    for m in (0, 1, 250, 10_000):
        u, v = by_rows.at(m), proximal_newton(X, y, mu=0.3, l2=1e-3, model_rows=m, floor=0.02)
        np.testing.assert_array_equal(u.P, v.P)
        np.testing.assert_array_equal(u.q, v.q)
        assert u.params == v.params
    with pytest.raises(DataError, match="model_rows"):
        by_rows.at(-5)


def test_eighty_updates_reencrypted_like_the_lender_never_drift(keys):
    """The lender's path, 80 times: owner ``apply_encrypted`` on the published model, lender
    decrypts, rounds (:func:`published_weights`) and publishes ``encrypt_vector`` afresh.
    The exponent never drifts (−13 published, −13 + P_EXPONENT per update), nothing
    overflows, and the decrypted model stays within 1e-6 of the plaintext chain."""
    pk, sk = keys
    rng = np.random.default_rng(8)
    d, held = 32, 1_000
    w0 = rng.normal(0, 0.3, d)
    enc, w_plain = encrypt_vector(pk, w0), w0.copy()
    worst = 0.0
    for _ in range(80):
        X = np.column_stack([np.ones(60), rng.normal(size=(60, d - 1))])
        y = (rng.random(60) < 0.2).astype(float)
        u = proximal_newton(X, y, model_rows=held)
        candidate = u.apply_encrypted(enc)
        assert set(candidate.exponents) == {-13 + P_EXPONENT}
        w_pub = published_weights(decrypt_vector(sk, candidate), pk)
        enc = encrypt_vector(pk, w_pub)
        assert set(enc.exponents) == {-13}
        w_plain = u.apply(w_plain)
        worst = max(worst, float(np.max(np.abs(decrypt_vector(sk, enc) - w_plain))))
        held += 60
    assert worst <= 1e-6, worst


def test_without_reencryption_the_exponent_drifts(keys, data):
    """What the re-encryption fixes: chaining candidates lowers the exponent every time."""
    pk, _sk = keys
    X, y = data
    u = proximal_newton(X, y, model_rows=500)
    enc = encrypt_vector(pk, fit_taylor(X, y))
    for k in range(1, 4):
        enc = u.apply_encrypted(enc)
        assert set(enc.exponents) == {-13 + k * P_EXPONENT}
