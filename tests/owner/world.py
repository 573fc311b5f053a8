"""A small real world for the owner tests: chain, contract, store, a lender's open model.

Everything is real: eth-tester (py-evm) or a Ganache node, the compiled ``ModelRepository``,
the embedded content store with real CIDs, 512-bit Paillier keys, generated Lending Club files.
The lender's side uses the library's lender workflow where it can; ``Lender`` below only holds
what the tests need to evaluate a submission.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.chain.client import ChainClient, dev_account
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.repository import Mechanism, Metric, ModelRepository, Reason
from hessian_common.chain.repository import test_set_commitment as commitment_of
from hessian_common.crypto import decrypt_vector, encrypt_vector, generate_keypair
from hessian_common.data import Preprocessor, load_file, load_schema
from hessian_common.learning.federated import evaluate_candidate
from hessian_common.learning.metrics import score_weights
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob
from hessian_common.learning.updates import fit_taylor
from hessian_common.store import EmbeddedStore
from hessian_common.tasks.versions import published_weights
from hessian_common.types import to_ppm

ETH = 10**18
KEY_BITS = 512
LENDER, OWNER, OTHER = 0, 1, 2
"""Dev account indices (the local chains' well-known mnemonic)."""


def deploy(w3: Any, funder: str | None = None) -> ModelRepository:
    """Deploy ``ModelRepository`` with dev account 0; fund dev accounts 0–3 on eth-tester."""
    if funder is not None:
        for i in range(4):
            w3.eth.send_transaction(
                {"from": funder, "to": dev_account(i).address, "value": 1000 * ETH}
            )
    art = load_artifact("ModelRepository")
    client = ChainClient(w3, dev_account(LENDER))
    receipt = client.deploy(art.abi, art.bytecode)
    return ModelRepository(client, receipt["contractAddress"], art.abi)


@dataclass
class Lender:
    """The lender of one open model (its secrets stay in the test)."""

    repo: ModelRepository
    store: EmbeddedStore
    model_id: int
    spec: ModelSpec
    spec_cid: str
    sk: Any
    X_hold: np.ndarray
    y_hold: np.ndarray
    score: float

    def evaluate(self, update_id: int, tolerance: float = 0.0) -> tuple[bool, float]:
        """Decrypt, score on the hold-out, publish, ``evaluateUpdate``; like the company app."""
        sub = self.repo.submission(update_id)
        blob = UpdateBlob.from_bytes(self.store.get(sub.update_cid), self.spec)
        w = published_weights(decrypt_vector(self.sk, blob.weights), self.spec.public_key)
        ev = evaluate_candidate(w, self.X_hold, self.y_hold, self.score, "auc", tolerance)
        new_cid = ""
        if ev.accepted:  # re-encrypted at the standard exponent, as the company app does
            fresh = encrypt_vector(self.spec.public_key, w)
            new_cid = self.store.put(EncryptedModel(fresh, version=update_id).to_bytes())
            self.score = ev.score
        self.repo.evaluate_update(update_id, ev.accepted, to_ppm(ev.score), new_cid)
        return ev.accepted, ev.score

    def reject(self, update_id: int, reason: Reason = Reason.MANUAL) -> None:
        """Reject the head submission with ``reason`` (score 0)."""
        self.repo.evaluate_update(update_id, False, 0, "", reason)


def open_model(
    repo: ModelRepository,
    store: EmbeddedStore,
    split_dir: Path,
    *,
    name: str = "Prime personal loans 2026",
    bounty: int = 5 * ETH,
    deposit: int = ETH // 100,
    target: float | None = None,
    mechanism: Mechanism = Mechanism.IMPROVEMENT,
    rule: str = "newton",
    params: dict[str, float] | None = None,
    deadline_in: int = 7 * 86400,
    row_key: bytes | None = None,
) -> Lender:
    """Publish a spec (512-bit key) and ``createModel`` as the lender (dev account 0)."""
    schema = load_schema("lending_club")
    seed = load_file(split_dir / "lender_seed.csv", schema)
    hold = load_file(split_dir / "lender_holdout.csv", schema)
    pre = Preprocessor(schema).fit(seed.features)
    X_seed, X_hold = pre.transform(seed.features), pre.transform(hold.features)
    w0 = fit_taylor(X_seed, seed.y, l2=1e-2)
    pk, sk = generate_keypair(KEY_BITS)
    spec = ModelSpec(
        name=name,
        schema_name=schema.name,
        schema=schema.to_dict(),
        preprocessing=pre.to_dict(),
        public_key=pk,
        weights=encrypt_vector(pk, w0),
        feature_names=list(pre.feature_names_),
        rule=rule,
        params=dict(params or {}),
        metric="auc",
        seed_rows=len(seed.y),
        row_key=row_key.hex() if row_key is not None else None,
        row_salt=secrets.token_bytes(32).hex() if row_key is not None else None,
    )
    spec_cid = store.put(spec.to_bytes())
    s0 = score_weights(X_hold, hold.y, w0)["auc"]
    lender_repo = repo.as_account(repo.client.with_account(dev_account(LENDER)))
    model_id = lender_repo.create_model(
        spec_cid,
        bounty=bounty,
        initial_score=to_ppm(s0),
        target_score=to_ppm(target if target is not None else min(0.99, s0 + 0.05)),
        deadline=int(time.time()) + deadline_in,
        evaluation_window=3600,
        test_set_commitment=commitment_of("bafkreitestset", secrets.token_bytes(32)),
        metric=Metric.AUC,
        mechanism=mechanism,
        submission_deposit=deposit,
    )
    return Lender(lender_repo, store, model_id, spec, spec_cid, sk, X_hold, hold.y, s0)


def as_owner(repo: ModelRepository, index: int = OWNER) -> ModelRepository:
    """The same contract, signing as dev account ``index``."""
    return repo.as_account(repo.client.with_account(dev_account(index)))


def prepare(repo: ModelRepository, model: Any, current: Any, data: Any, base: str, **kw: Any):
    """``owner.prepare_update`` signed by ``repo``'s account, for ``repo``'s chain."""
    from hessian_common import owner

    return owner.prepare_update(
        model.spec,
        current,
        data,
        model_id=model.model_id,
        base_cid=base,
        account=repo.client.account,
        chain_id=repo.client.chain_id,
        contract=repo.address,
        **kw,
    )
