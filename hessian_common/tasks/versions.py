"""Model versions as the lender publishes them: which encrypted weights a CID names, the
rounding of a fresh encryption, and the digest that tells equal candidates apart.

Shared by evaluation (:mod:`.evaluate`), the audit (:mod:`.audit`) and the lending desk (which
decrypts the closed model's last version).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from hessian_common.crypto.paillier import DEFAULT_EXPONENT, encode_fixed
from hessian_common.errors import DataError
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob
from hessian_common.store.base import ContentStore
from hessian_common.untrusted import MAX_BYTES, fetch


def weights_at(store: ContentStore, spec: ModelSpec, cid: str, spec_cid: str) -> Any:
    """The encrypted weights named by ``cid``: the spec's, an EncryptedModel's or an
    UpdateBlob's (a candidate)."""
    if cid == spec_cid:
        return spec.weights
    raw = fetch(store, cid, what="encrypted weights", max_bytes=MAX_BYTES["update"])
    try:
        return EncryptedModel.from_bytes(raw, spec).weights
    except DataError:
        return UpdateBlob.from_bytes(raw, spec).weights


def published_weights(w: Any, public_key: Any, exponent: int | None = None) -> np.ndarray:
    """``w`` rounded as ``encrypt_vector(public_key, w, exponent=exponent)`` stores it.

    ``m_i = round(w_i · 16^−e)`` (:func:`hessian_common.crypto.encode_fixed`), decoded as
    phe decodes it, ``m_i / 16^−e``: decrypting the fresh encryption gives exactly these
    floats, and rounding them again changes nothing.
    """
    e = DEFAULT_EXPONENT if exponent is None else int(exponent)
    scale = 16**-e
    return np.array([encode_fixed(float(v), e, public_key) / scale for v in np.ravel(w)])


def candidate_digest(w_pub: Any) -> str:
    """SHA-256 (hex) of the published-rounding plaintext of a candidate: equal weights, equal
    digest, whoever encrypted them (a re-randomised copy of someone's update included)."""
    text = ",".join(repr(float(v)) for v in np.ravel(w_pub))
    return hashlib.sha256(text.encode()).hexdigest()
