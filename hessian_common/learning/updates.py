"""Affine update rules on encrypted weights: ``enc(w') = P·enc(w) + q``.

The logistic loss with the degree-1 Taylor sigmoid ``σ(z) ≈ ½ + z/4`` has a gradient that is
affine in the weights. For an owner's rows ``X`` (N × d, first column the intercept) and
labels ``y`` ∈ {0, 1}::

    g(w) = Xᵀ(σ̃(Xw) − y)/N = A·w + b,     A = XᵀX/(4N),     b = Xᵀ(½ − y)/N

plus an optional L2 penalty ``λ`` on every weight but the intercept (``A += λ·diag(0,1,…,1)``).
Every rule below is therefore an affine map ``w' = P·w + q`` whose ``P`` (d × d) and ``q`` (d)
are plaintext, computed from the owner's data only:

- one gradient step (learning rate η):  ``P = I − ηA``,  ``q = −ηb``
- K local epochs of full-batch gradient descent:
  ``P = (I − ηA)^K``,  ``q = −η Σ_{k<K} (I − ηA)^k b``
- proximal Newton (the Hessian of the Taylor loss is A), minimising
  ``L̃(w') + (μ/2)‖w' − w‖²``:  ``w' = (A + μI)⁻¹(μw − b)``, i.e.
  ``P = μ(A + μI)⁻¹``,  ``q = −(A + μI)⁻¹ b``
- the same rule with ``model_rows`` M > 0 (the rows the current model already holds): the
  trust region is the model's own evidence. With the lender's published curvature prior
  (:mod:`hessian_common.learning.prior`, the model's precision ``H̃(M)``), minimising
  ``N·L̃(w') + ½(w' − w)ᵀH̃(M)(w' − w)``:  ``K = (N·A + H̃(M))⁻¹``,  ``P = K·H̃(M)``,
  ``q = −N·K b``  (recursive least squares). Without a prior (older specs), M rows of
  curvature ≈ the owner's A (floor φ): with ``ρ = M/N``, ``K = ((1 + ρ)A + ρφI)⁻¹``:
  ``P = ρ·K(A + φI)``,  ``q = −K b``  (see :func:`proximal_newton`)

On ciphertexts (:meth:`AffineUpdate.apply_encrypted`)::

    enc(w'_i) = Σ_j P_ij ⊗ enc(w_j) ⊕ enc(q_i)

which costs ``d²`` ciphertext × plaintext products and ``d`` encryptions (the fresh randomness
that hides ``P`` and ``q``), independent of N and K. ``P`` is encoded in fixed point with one
common exponent (``16^p_exponent``) so each row's products share an exponent and add with a
single modular multiplication; all rows are computed together by simultaneous
exponentiation over shared tables (:mod:`hessian_common.crypto.multiexp`), the bases split over
processes, and the randomness comes precomputed from the key's pool when
:func:`hessian_common.crypto.prepare_randomisers` ran (:mod:`hessian_common.crypto.raw`).

:func:`naive_encrypted_gradient_step` is the per-row reference (≈ 2·N·d ciphertext
operations with phe's operators), kept to check and to measure against.

Differential privacy (:class:`DPConfig`): rows are clipped to ‖x_i‖ ≤ C, and Gaussian noise is
added to the sufficient statistics (A, b) before P, q are built (Gaussian mechanism; P, q are
post-processing, so the update is (ε, δ)-DP with respect to replacing one row)::

    Δ_b = C/N,  Δ_A = C²/(2N)  (Frobenius),  Δ = sqrt(Δ_A² + Δ_b²)
    σ = Δ · sqrt(2 ln(1.25/δ)) / ε           (valid for ε ≤ 1)

A is symmetrised after the noise and its eigenvalues clipped at 0 (post-processing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import phe

from hessian_common.crypto import raw
from hessian_common.crypto.paillier import EncryptedVector, encode_fixed
from hessian_common.errors import CryptoError, DataError

if TYPE_CHECKING:  # the prior imports this module (statistics)
    from hessian_common.learning.prior import CurvaturePrior

RULES = ("gradient", "epochs", "newton")
"""Names of the update rules, as written in model specs and update blobs."""

DEFAULT_PARAMS: dict[str, dict[str, float]] = {
    "gradient": {"lr": 1.0, "l2": 1e-4},
    "epochs": {"lr": 1.0, "epochs": 5, "l2": 1e-4},
    "newton": {"mu": 0.5, "model_rows": 0, "floor": 0.01, "l2": 1e-4},
}
"""Default hyper-parameters per rule (η = lr; standardised features make η = 1 safe for the
Taylor loss, whose curvature A has eigenvalues ≈ 1/4 per unit-variance direction).

Newton: ``model_rows = 0`` is the plain proximal step with ``μ = 0.5``; with ``model_rows =
M``, the rows the current model holds, it is the recursive least-squares step (``mu``
unused), with the spec's curvature prior when it has one, else with the owner's own curvature
and the floor ``floor = 0.01``. The owner workflow fills M in itself
(:func:`hessian_common.owner.update_params`: the spec's ``seed_rows`` plus the contract's
``acceptedRows``; a ``model_rows`` written in a spec is replaced). Measured
(docs/simulation/README.md, generator v1): 50 owners of 280 rows, 5 misbehaving, the plain
step ends at 0.985-0.999 of the centralized AUC on the hold-out and 0.964-0.995 on fresh
loans; the ``model_rows`` step at 0.989-1.004 and 0.987-0.999. With the prior and the lender's
acceptance rule (generator v2, issue 17): 0.998-1.001 and 0.996-0.998; owners of 70 rows in
62 dimensions (where the own-curvature step reached 0.94 in one pass): see
:mod:`hessian_common.learning.prior`."""

P_EXPONENT = -12
"""Fixed-point exponent for P: entries are rounded to multiples of 16^−12 = 2^−48 (≈ 3.6e−15;
for d = 32 weights of size ≤ 1 an output weight is off by ≤ 6e−14).

Every encrypted update lowers the ciphertexts' exponent by ``|P_EXPONENT|`` (an update on a
model at exponent ``e`` comes out at ``e + P_EXPONENT``). That no longer accumulates: the
lender publishes a fresh ``encrypt_vector(pk, w')`` of the weights it decrypted, at the
standard exponent −13 (:mod:`hessian_common.tasks.evaluate`), so every model version starts
at −13 and every update blob is at −25. Measured (512-bit keys, d = 32, 80 accepted
row-weighted Newton updates, re-encrypted each time): largest |decrypted − plaintext| weight
error 1.9e−7 at −6, 7.2e−10 at −8, 3.3e−12 at −10, 9.3e−15 at −12; one 2048-bit update costs
about 15-25% more at −12 than at −6 (longer exponents in the d² products; the d fresh
obfuscators cost the same)."""


def _check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float).ravel()
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"X must be a non-empty 2-D array (rows × features), got shape {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise DataError(f"X has {X.shape[0]} rows but y has {y.shape[0]} labels")
    if not np.all(np.isfinite(X)):
        bad = np.argwhere(~np.isfinite(X))[0]
        raise DataError(f"X has a non-finite value at row {bad[0]}, column {bad[1]}")
    if not np.all((y == 0) | (y == 1)):
        raise DataError(f"labels must be 0 or 1; row {int(np.argmax((y != 0) & (y != 1)))} is not")
    return X, y


@dataclass(frozen=True)
class DPConfig:
    """Gaussian-mechanism settings: (ε, δ) per submission and the row clip norm C."""

    epsilon: float
    delta: float = 1e-5
    clip: float = 8.0

    def __post_init__(self) -> None:
        if not 0 < self.epsilon <= 1:
            raise DataError(f"DP epsilon must be in (0, 1], got {self.epsilon}")
        if not 0 < self.delta < 1:
            raise DataError(f"DP delta must be in (0, 1), got {self.delta}")
        if self.clip <= 0:
            raise DataError(f"DP clip norm must be > 0, got {self.clip}")

    def sigma(self, rows: int) -> float:
        """Noise standard deviation for ``rows`` rows (see the module docstring)."""
        sens = math.hypot(self.clip**2 / (2 * rows), self.clip / rows)
        return sens * math.sqrt(2 * math.log(1.25 / self.delta)) / self.epsilon


def statistics(
    X: Any,
    y: Any,
    l2: float = 0.0,
    dp: DPConfig | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``A = XᵀX/(4N) + λ·diag(0,1,…,1)``, ``b = Xᵀ(½ − y)/N``, optionally with DP noise.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Preprocessed rows, column 0 the intercept (not penalised).
    y : ndarray of shape (n_samples,)
        Labels 0/1.
    l2 : float
        Ridge penalty λ ≥ 0.
    dp : DPConfig, optional
        Clip rows to norm C and add Gaussian noise of std ``dp.sigma(N)`` to A and b.
    """
    X, y = _check_xy(X, y)
    if l2 < 0:
        raise DataError(f"l2 penalty must be >= 0, got {l2}")
    n, d = X.shape
    if dp is not None:
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        X = X * np.minimum(1.0, dp.clip / np.maximum(norms, 1e-300))
    A = X.T @ X / (4 * n)
    b = X.T @ (0.5 - y) / n
    if dp is not None:
        rng = rng if rng is not None else np.random.default_rng()
        s = dp.sigma(n)
        noise = np.triu(rng.normal(0.0, s, size=(d, d)))
        A = A + noise + np.triu(noise, 1).T
        vals, vecs = np.linalg.eigh(A)
        A = (vecs * np.maximum(vals, 0.0)) @ vecs.T
        b = b + rng.normal(0.0, s, size=d)
    if l2:
        pen = np.full(d, l2)
        pen[0] = 0.0
        A = A + np.diag(pen)
    return A, b


@dataclass(frozen=True)
class AffineUpdate:
    """``w' = P·w + q``: an owner's update, computed from its data, applied to any ``w``."""

    P: np.ndarray
    q: np.ndarray
    rows: int
    rule: str
    params: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        d = self.q.shape[0]
        if self.P.shape != (d, d):
            raise DataError(f"P has shape {self.P.shape}, expected ({d}, {d})")
        if not (np.all(np.isfinite(self.P)) and np.all(np.isfinite(self.q))):
            raise DataError("update has non-finite entries (diverging learning rate?)")

    @property
    def dim(self) -> int:
        """Number of weights d."""
        return self.q.shape[0]

    def apply(self, w: Any) -> np.ndarray:
        """Plaintext ``P·w + q``."""
        w = np.asarray(w, dtype=float).ravel()
        if w.shape[0] != self.dim:
            raise DataError(f"weights have {w.shape[0]} entries, the update expects {self.dim}")
        return self.P @ w + self.q

    def apply_encrypted(
        self,
        enc_w: EncryptedVector | Sequence[phe.EncryptedNumber],
        workers: int | None = 1,
        p_exponent: int = P_EXPONENT,
        obfuscate: bool = True,
    ) -> EncryptedVector:
        """``enc(w'_i) = Σ_j P_ij ⊗ enc(w_j) ⊕ enc(q_i)`` without decrypting anything.

        Parameters
        ----------
        enc_w : EncryptedVector or list of phe.EncryptedNumber
            The current encrypted weights (any exponents).
        workers : int or None
            Processes to split the rows over (None: one per core).
        p_exponent : int
            P is rounded to multiples of 16^p_exponent (absolute error ≤ 16^p_exponent / 2
            per entry, so ≤ d·|w|max·16^p_exponent / 2 per output weight).
        obfuscate : bool
            Multiply every output by a fresh ``r^n``. Never switch off for data that leaves
            the machine: without it the ciphertexts leak ``P`` and ``q``.

        Returns
        -------
        EncryptedVector
            ``enc(w')``, every entry at exponent ``p_exponent + min_j exponent(w_j)``.

        Notes
        -----
        With ``e_j`` the exponents of ``enc(w_j)`` and ``e = min_j e_j``, P's integer encoding
        absorbs the exponent differences: ``P_ij·w_j = (round(P_ij·16^−p_exponent) ·
        16^(e_j − e)) · m_j · 16^(p_exponent + e)``, so no ciphertext exponent is aligned.
        """
        if not isinstance(enc_w, EncryptedVector):
            enc_w = EncryptedVector.from_numbers(list(enc_w))
        if len(enc_w) != self.dim:
            raise CryptoError(f"encrypted weights have {len(enc_w)} entries, update has {self.dim}")
        pk = enc_w.public_key
        e_min = min(enc_w.exponents)
        out_exp = p_exponent + e_min
        scale = [16 ** (e - e_min) for e in enc_w.exponents]
        rows = [
            [encode_fixed(self.P[i, j], p_exponent, pk) * scale[j] for j in range(self.dim)]
            for i in range(self.dim)
        ]
        offsets = [encode_fixed(self.q[i], out_exp, pk) for i in range(self.dim)]
        limit = pk.max_int.bit_length() - 8
        worst = max(abs(v) for row in rows for v in row).bit_length() + 4 * (-e_min) + 64
        if worst > limit:
            raise CryptoError(
                f"update would overflow the key's plaintext range ({worst} > {limit} bits); "
                "the weights' exponents are too far apart"
            )
        cts = raw.parallel_affine_rows(
            enc_w.ciphertexts, rows, offsets, pk.n, pk.nsquare, workers, obfuscate
        )
        return EncryptedVector(pk, tuple(cts), (out_exp,) * self.dim)


def _params(rule: str, params: dict[str, float] | None) -> dict[str, float]:
    if rule not in RULES:
        raise DataError(f"unknown update rule {rule!r}; expected one of {', '.join(RULES)}")
    out = dict(DEFAULT_PARAMS[rule])
    for k, v in (params or {}).items():
        if k not in out:
            raise DataError(f"rule {rule!r} has no parameter {k!r} (has {', '.join(out)})")
        out[k] = float(v)
    return out


def gradient_step(X: Any, y: Any, lr: float = 1.0, l2: float = 1e-4, **kw: Any) -> AffineUpdate:
    """One full-batch gradient step: ``P = I − ηA``, ``q = −ηb``."""
    return local_epochs(X, y, lr=lr, epochs=1, l2=l2, _rule="gradient", **kw)


def local_epochs(
    X: Any,
    y: Any,
    lr: float = 1.0,
    epochs: int = 5,
    l2: float = 1e-4,
    dp: DPConfig | None = None,
    rng: np.random.Generator | None = None,
    _rule: str = "epochs",
) -> AffineUpdate:
    """K full-batch gradient steps: ``P = (I − ηA)^K``, ``q = −η Σ_{k<K} (I − ηA)^k b``."""
    if lr <= 0:
        raise DataError(f"learning rate must be > 0, got {lr}")
    if int(epochs) != epochs or epochs < 1:
        raise DataError(f"epochs must be a positive integer, got {epochs}")
    A, b = statistics(X, y, l2=l2, dp=dp, rng=rng)
    d = b.shape[0]
    M = np.eye(d) - lr * A
    P, q = np.eye(d), np.zeros(d)
    for _ in range(int(epochs)):  # w_{k+1} = M w_k − ηb, composed: (P, q) <- (M P, M q − ηb)
        P, q = M @ P, M @ q - lr * b
    params = {"lr": float(lr), "l2": float(l2)}
    if _rule == "epochs":
        params["epochs"] = int(epochs)
    return AffineUpdate(P, q, rows=int(np.asarray(X).shape[0]), rule=_rule, params=params)


def proximal_newton(
    X: Any,
    y: Any,
    mu: float = 0.5,
    l2: float = 1e-4,
    dp: DPConfig | None = None,
    rng: np.random.Generator | None = None,
    model_rows: float = 0,
    floor: float = 0.01,
    prior: CurvaturePrior | None = None,
) -> AffineUpdate:
    """Proximal Newton step; with ``model_rows`` the trust region is the model's evidence.

    Plain (``model_rows = 0``): minimise ``L̃(w') + (μ/2)‖w' − w‖²``::

        P = μ(A + μI)⁻¹,   q = −(A + μI)⁻¹ b

    Every owner, 20 rows or 20,000, then moves the model the same fraction of the way to its
    own optimum: along a sequence of small owners the model is a moving average of the last
    few owners' noisy optima, and a tiny data set weighs as much as a large one.

    With ``model_rows = M > 0`` (the rows the current model already holds): the current model
    is M rows of evidence. Pooling them with the owner's N rows would minimise
    ``M·L̃_model(w') + N·L̃(w')``; the owner cannot see the model's loss, but near ``w`` it is
    ``(1/2)(w' − w)ᵀ H (w' − w)`` with H the per-row curvature of the model's rows, which the
    owner estimates by its own A (+ φI, so directions its data does not see stay put)::

        minimise  N·L̃(w') + (M/2)(w' − w)ᵀ(A + φI)(w' − w)
        ρ = M/N,   K = ((1 + ρ)A + ρφI)⁻¹
        P = ρ·K(A + φI),   q = −K b

    When every owner's A is the same and φ = 0 this is exactly the pooled minimiser, row by
    row (recursive least squares): each owner's pull is ``N/(N + M)``, as if its rows were
    added to the model's. A 20-row owner then barely moves a model of 5,000 rows, and an
    owner's noise is averaged with everything seen before instead of replacing it.

    With the lender's ``prior`` (:class:`~hessian_common.learning.prior.CurvaturePrior`) the
    model's curvature is not guessed from the owner's own rows (70 rows cannot estimate a
    62 × 62 curvature) but taken from the lender's published feature moments::

        H̃ = H̃(M) = n_seed·S_seed + (M − n_seed)·S_pop + (λM + Λ)·D
        minimise  N·L̃(w') + ½(w' − w)ᵀ H̃ (w' − w)
        K = (N·A + H̃)⁻¹,   P = K·H̃,   q = −N·K b

    exact for the first owner (``H̃(n_seed)`` is the precision of the lender's ``w0``), and
    for later ones up to the accepted owners' own curvature, estimated by the population's.

    Parameters
    ----------
    X, y : the owner's rows (N × d, intercept first) and labels.
    mu : float > 0
        Proximal weight of the plain step (unused when ``model_rows`` > 0).
    l2 : float >= 0
        Ridge penalty (not on the intercept).
    model_rows : float >= 0
        Rows the current model holds (the lender's seed rows plus the accepted rows the
        contract counts); 0: the plain step.
    floor : float > 0
        Curvature floor φ added to A in the trust region (``model_rows`` > 0, no prior).
    prior : CurvaturePrior, optional
        The lender's published curvature prior (``model_rows`` > 0 only).
    """
    return newton_by_rows(X, y, mu=mu, l2=l2, floor=floor, dp=dp, rng=rng, prior=prior).at(
        model_rows
    )


@dataclass(frozen=True)
class NewtonByRows:
    """An owner's proximal Newton step as a function of the rows M the model holds.

    ``at(M)`` is :func:`proximal_newton` with ``model_rows = M``, built from the owner's
    statistics ``A``, ``b`` (computed once). Used where the same owner's step is needed on
    models of different sizes, e.g. valuing coalitions
    (:class:`hessian_common.rewards.valuation.SequentialUtility`), where the step an owner
    takes depends on the rows of the owners applied before it.
    """

    A: np.ndarray
    b: np.ndarray
    rows: int
    mu: float = 0.5
    l2: float = 1e-4
    floor: float = 0.01
    prior: CurvaturePrior | None = None

    def at(self, model_rows: float) -> AffineUpdate:
        """The step on a model of ``model_rows`` rows (0: the plain ``μ`` step)."""
        if not model_rows >= 0:
            raise DataError(f"model_rows must be >= 0, got {model_rows}")
        d = self.b.shape[0]
        eye = np.eye(d)
        params = {"mu": float(self.mu), "l2": float(self.l2)}
        if model_rows and self.prior is not None:
            if self.prior.dim != d:
                raise DataError(f"the curvature prior has {self.prior.dim} weights, X has {d}")
            H = self.prior.precision(model_rows, self.l2)
            K = np.linalg.inv(self.rows * self.A + H)
            P, q = K @ H, -self.rows * (K @ self.b)
            params.update(model_rows=float(model_rows))
        elif model_rows:
            rho = float(model_rows) / self.rows
            K = np.linalg.inv((1 + rho) * self.A + rho * self.floor * eye)
            P, q = rho * K @ (self.A + self.floor * eye), -K @ self.b
            params.update(model_rows=float(model_rows), floor=float(self.floor))
        else:
            H = self.A + self.mu * eye
            P, q = self.mu * np.linalg.solve(H, eye), -np.linalg.solve(H, self.b)
        return AffineUpdate(P, q, rows=self.rows, rule="newton", params=params)


def newton_by_rows(
    X: Any,
    y: Any,
    mu: float = 0.5,
    l2: float = 1e-4,
    floor: float = 0.01,
    dp: DPConfig | None = None,
    rng: np.random.Generator | None = None,
    prior: CurvaturePrior | None = None,
) -> NewtonByRows:
    """The owner's Newton step for any model size: ``newton_by_rows(X, y).at(M)``."""
    if mu <= 0:
        raise DataError(f"proximal weight mu must be > 0, got {mu}")
    if not floor > 0:
        raise DataError(f"curvature floor must be > 0, got {floor}")
    A, b = statistics(X, y, l2=l2, dp=dp, rng=rng)
    return NewtonByRows(
        A, b, int(np.asarray(X).shape[0]), float(mu), float(l2), float(floor), prior
    )


def build_update(
    rule: str,
    X: Any,
    y: Any,
    params: dict[str, float] | None = None,
    dp: DPConfig | None = None,
    rng: np.random.Generator | None = None,
    prior: CurvaturePrior | None = None,
) -> AffineUpdate:
    """The update of rule ``rule`` (one of :data:`RULES`) with ``params`` over the defaults.

    ``prior`` (the spec's :class:`~hessian_common.learning.prior.CurvaturePrior`) is used by
    the ``newton`` rule when ``model_rows`` > 0; the other rules ignore it.
    """
    p = _params(rule, params)
    if rule == "gradient":
        return local_epochs(X, y, lr=p["lr"], epochs=1, l2=p["l2"], dp=dp, rng=rng, _rule=rule)
    if rule == "epochs":
        return local_epochs(X, y, lr=p["lr"], epochs=p["epochs"], l2=p["l2"], dp=dp, rng=rng)
    return proximal_newton(
        X, y, p["mu"], p["l2"], dp, rng, model_rows=p["model_rows"], floor=p["floor"], prior=prior
    )


def fit_taylor(X: Any, y: Any, l2: float = 1e-4) -> np.ndarray:
    """Plaintext minimiser of the Taylor loss: ``w* = −A⁻¹b`` (the lender's initial model).

    ``A`` includes the ridge term; a tiny jitter keeps it invertible when a one-hot column is
    all zero in the data.
    """
    A, b = statistics(X, y, l2=l2)
    return -np.linalg.solve(A + 1e-9 * np.eye(b.shape[0]), b)


# --------------------------------------------------------------------------- reference


def _naive_chunk(
    pk_n: int, cts: Sequence[int], exps: Sequence[int], X: np.ndarray, y: np.ndarray
) -> list[tuple[int, int]]:
    """Σ_i x_ij ⊗ enc(σ̃(z_i) − y_i) over a chunk of rows, with phe's operators."""
    pk = phe.PaillierPublicKey(pk_n)
    enc_w = [phe.EncryptedNumber(pk, c, e) for c, e in zip(cts, exps, strict=True)]
    d = len(enc_w)
    acc: list[phe.EncryptedNumber | None] = [None] * d
    for x_i, y_i in zip(X, y, strict=True):
        z = enc_w[0] * float(x_i[0])
        for j in range(1, d):
            z = z + enc_w[j] * float(x_i[j])
        r = z * 0.25 + (0.5 - float(y_i))  # enc(σ̃(z_i) − y_i)
        for j in range(d):
            t = r * float(x_i[j])
            acc[j] = t if acc[j] is None else acc[j] + t
    return [(a.ciphertext(False), a.exponent) for a in acc]


def naive_encrypted_gradient_step(
    enc_w: EncryptedVector,
    X: Any,
    y: Any,
    lr: float = 1.0,
    l2: float = 0.0,
    workers: int | None = 1,
) -> EncryptedVector:
    """Reference: one gradient step computed row by row on ciphertexts (≈ 2·N·d operations).

    ``enc(z_i) = Σ_j x_ij ⊗ enc(w_j)``; ``enc(r_i) = ¼ ⊗ enc(z_i) ⊕ (½ − y_i)``;
    ``enc(g_j) = Σ_i x_ij ⊗ enc(r_i)``; ``enc(w'_j) = enc(w_j) ⊕ (−η/N) ⊗ (enc(g_j) ⊕ λ_j ⊗
    enc(w_j))``. Equal, after decryption, to :func:`gradient_step` with the same ``lr``/``l2``.
    Rows are split over ``workers`` processes; the result is obfuscated.
    """
    X, y = _check_xy(X, y)
    n, d = X.shape
    if len(enc_w) != d:
        raise CryptoError(f"encrypted weights have {len(enc_w)} entries, X has {d} columns")
    pk = enc_w.public_key
    k = raw.resolve_workers(workers, n)
    args = (pk.n, list(enc_w.ciphertexts), list(enc_w.exponents))
    if k == 1:
        parts = [_naive_chunk(*args, X, y)]
    else:
        calls = [(*args, X[list(p)], y[list(p)]) for p in raw.split(n, k)]
        parts = raw.run_parallel(_naive_chunk, calls, k)
    grads = [phe.EncryptedNumber(pk, c, e) for c, e in parts[0]]
    for part in parts[1:]:
        grads = [g + phe.EncryptedNumber(pk, c, e) for g, (c, e) in zip(grads, part, strict=True)]
    w = enc_w.to_numbers()
    out = []
    for j in range(d):
        g = grads[j] if (j == 0 or not l2) else grads[j] + w[j] * (l2 * n)
        new = w[j] + g * (-lr / n)
        new.obfuscate()
        out.append(new)
    return EncryptedVector.from_numbers(out)
