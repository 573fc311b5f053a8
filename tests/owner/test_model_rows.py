"""The Newton owner weighs its rows against the rows the model holds: seed + ``acceptedRows``.

Real chain (eth-tester), real store, 512-bit keys; the lender of ``tests/owner/world.py``
re-encrypts what it publishes, as the company app does.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hessian_common import owner
from hessian_common.crypto import decrypt_vector
from hessian_common.data import Preprocessor
from hessian_common.errors import DataError
from hessian_common.learning.spec import ModelSpec
from hessian_common.learning.updates import build_update
from tests.owner.world import OTHER, as_owner, prepare


def _plain(spec, data, w):
    X = Preprocessor.from_dict(spec.preprocessing).transform(data.features)
    return X, lambda params: build_update("newton", X, data.y, params).apply(w)


def test_second_owner_counts_the_first_owners_accepted_rows(
    journal, owner_repo, owner_store, lender, owner_split
):
    first = owner.share(
        journal, owner_store, owner_repo, model=lender.model_id,
        path=owner_split / "owner_01.csv", account=owner_repo.client.account,
    )  # fmt: skip
    accepted, _ = lender.evaluate(first.update_id)
    assert accepted

    other = as_owner(lender.repo, OTHER)
    m = owner.get_model(other, owner_store, lender.model_id)
    assert m.accepted_rows == first.rows > 0
    assert m.model_cid is not None  # the lender's re-encrypted model
    current, base = owner.current_weights(owner_store, m)
    assert base == m.model_cid and set(current.exponents) == {-13}
    report = owner.validate_for_model(owner_split / "owner_02.csv", m.spec)
    blob = prepare(other, m, current, report.data, base, accepted_rows=m.accepted_rows)
    w = decrypt_vector(lender.sk, current)
    _X, step = _plain(m.spec, report.data, w)
    held = m.spec.seed_rows + first.rows
    got = decrypt_vector(lender.sk, blob.weights)
    np.testing.assert_allclose(got, step({"model_rows": held}), atol=1e-9)
    # not the step that forgets the first owner's rows, nor the plain μ step
    assert np.max(np.abs(got - step({"model_rows": m.spec.seed_rows}))) > 1e-4
    assert np.max(np.abs(got - step({"model_rows": 0}))) > 1e-4


def test_caller_override_and_old_specs(owner_repo, owner_store, lender, owner_split):
    spec = lender.spec
    assert owner.update_params(spec, accepted_rows=120)["model_rows"] == spec.seed_rows + 120
    plain = owner.update_params(spec, accepted_rows=120, params={"model_rows": 0})
    assert plain["model_rows"] == 0
    # a spec written before seed_rows existed: same bytes, read as 0 seed rows
    old = dataclasses.replace(spec, seed_rows=None)
    raw = old.to_bytes()
    assert b"seed_rows" not in raw and ModelSpec.from_bytes(raw).seed_rows is None
    assert owner.update_params(old)["model_rows"] == 0  # nothing accepted: the plain step
    assert owner.update_params(old, accepted_rows=300)["model_rows"] == 300
    # other rules are not touched
    epochs = dataclasses.replace(spec, rule="epochs", params={"epochs": 3})
    assert owner.update_params(epochs, accepted_rows=300) == {"epochs": 3}
    with pytest.raises(DataError, match="accepted rows"):
        owner.update_params(spec, accepted_rows=-1)


def test_spec_seed_rows_is_checked(lender):
    with pytest.raises(DataError, match="seed_rows"):
        dataclasses.replace(lender.spec, seed_rows=-3)
    d = lender.spec.to_dict()
    d["seed_rows"] = "many"
    with pytest.raises(DataError, match="seed_rows"):
        ModelSpec.from_dict(d)
    assert ModelSpec.from_bytes(lender.spec.to_bytes()).seed_rows == lender.spec.seed_rows
