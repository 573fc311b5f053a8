"""The lender publishes a fresh encryption of each accepted model: no exponent drift.

Before, the accepted candidate's own ciphertexts became the next model, and every update
lowered their fixed-point exponent until decoding overflowed (about 20 accepted updates at
``P_EXPONENT = −12``). Here 24 updates go through the real evaluate path (eth-tester chain,
embedded store, 512-bit keys): every one is accepted, every published model is at exponent
−13 and decrypts to within 1e-6 of the plaintext chain of the same updates, and the audit
re-computes every recorded score from what was published. (80 updates through the same
learning functions: tests/learning/test_updates.py; 80 here take minutes, as every chain
read of the model replays its events.)
"""

from __future__ import annotations

import numpy as np
import pytest

from hessian_common import owner
from hessian_common.crypto import decrypt_vector, encrypt_vector, generate_keypair
from hessian_common.data import Preprocessor, load_file
from hessian_common.learning.prior import prior_of
from hessian_common.learning.spec import EncryptedModel
from hessian_common.learning.updates import P_EXPONENT, build_update
from hessian_common.tasks import Lender, LenderState
from hessian_common.tasks.versions import published_weights
from tests.fixtures.lender import PASSPHRASE, params, signed_blob

UPDATES = 24
"""More than the ~20 accepted updates a model survived before at ``P_EXPONENT = −12``."""


@pytest.mark.slow
def test_accepted_updates_past_the_old_limit_never_drift_and_audit(env, lender_data):
    lender = Lender(env.repo, env.store, LenderState(env.home / "company"), PASSPHRASE)
    record = lender.create_task(
        params(lender_data["lender"], metric="auc", mechanism="improvement", tolerance=0.9)
    )
    model_id = record.model_id
    spec = lender.books.spec(record.spec_cid)
    assert spec.seed_rows == record.seed_rows > 0
    sk = lender.books.private_key(model_id)
    pre = Preprocessor.from_dict(spec.preprocessing)
    pooled = [load_file(p) for p in lender_data["owners"]]
    X_all = np.vstack([pre.transform(d.features) for d in pooled])
    y_all = np.concatenate([np.asarray(d.y) for d in pooled])
    rng = np.random.default_rng(6)  # 24 honest updates all passing the lender's checks
    chunks = rng.permutation(len(y_all))[: 60 * UPDATES].reshape(UPDATES, 60)  # fresh rows each
    repo = env.owner_repo(1)
    w_plain = decrypt_vector(sk, spec.weights)
    worst = 0.0
    for k in range(UPDATES):
        m = owner.get_model(repo, env.store, model_id)
        current, base = owner.current_weights(env.store, m)
        assert set(current.exponents) == {-13}  # every published version starts afresh
        rows = chunks[k]
        p = owner.update_params(spec, accepted_rows=m.accepted_rows)
        assert p["model_rows"] == spec.seed_rows + 60 * k
        update = build_update(spec.rule, X_all[rows], y_all[rows], p, prior=prior_of(spec))
        digest = rng.bytes(32)
        blob = signed_blob(repo, spec, model_id, base, update.apply_encrypted(current), 60, digest)
        assert set(blob.weights.exponents) == {-13 + P_EXPONENT}
        uid = repo.submit_update(model_id, env.store.put(blob.to_bytes()), digest, 60)
        result = lender.evaluate_submission(uid)
        assert result.accepted, result.reason
        w_plain = update.apply(w_plain)
        published = EncryptedModel.from_bytes(env.store.get(result.model_cid), spec).weights
        w_pub = decrypt_vector(sk, published)
        worst = max(worst, float(np.max(np.abs(w_pub - w_plain))))
    assert worst <= 1e-6, worst
    assert env.repo.model(model_id).accepted_count == UPDATES

    lender.close(model_id)
    lender.reveal_test_set(model_id)
    report = lender.audit(model_id)
    assert report.checked == UPDATES + 1 and report.ok, [r for r in report.rows if not r.ok]


def test_published_weights_are_what_the_fresh_encryption_decrypts_to():
    pk, sk = generate_keypair(512)
    w = np.array([0.1, -1 / 3, 2.5 + 1e-15, 1e-17, -7.123456789012345, 0.0])
    w_pub = published_weights(w, pk)
    assert np.max(np.abs(w_pub - w)) <= 16.0**-13
    assert np.array_equal(decrypt_vector(sk, encrypt_vector(pk, w_pub)), w_pub)
    assert np.array_equal(published_weights(w_pub, pk), w_pub)  # rounding twice: no change
