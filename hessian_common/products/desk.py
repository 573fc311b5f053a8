"""The product desk: what a deployer does with a closed model, whatever the product.

A *product* (loans on a ``LoanBook``, insurance on a ``PolicyBook``, both on
``contracts/products/ProductBase.sol``) takes a CLOSED model of ours, an X25519 application
key and a public policy document, receives sealed applications (digest + CID on chain) and
records decisions with a probability. Both desks keep, per deployed model, private files
(0600) under ``models/<m>/<subdir>/``::

    <model file>            the calibrated model (weights never published)
    calibration.json        the out-of-fold calibration report
    application_key.json    the X25519 private key, sealed at rest with the books' passphrase
    policy.json             the public policy document and its CID

Deploying model ``m`` (the shared steps; the subclass builds its own model and document)::

    checks   m is ours (local record), ours on chain, and CLOSED
    w        = D(enc(w_current))           the chain's current model CID, the Paillier key
    X, y     the insurer's / lender's private hold-out (calibration)
    local    files written *before* the transaction: a crash never loses the key
    store    the policy document -> policyCid (pinned)

Opening an application: fetch the sealed blob by its CID (bounded, verified), open it with
the application key, check ``sha256(plain)`` against the chain's digest, parse it with the
product's form and check the applicant's address sealed inside: a blob copied from another
applicant or altered is refused (:func:`hessian_common.forms.open_sealed_form`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.chain import ModelStatus
from hessian_common.chain.token import currency_of
from hessian_common.crypto import decrypt_vector
from hessian_common.errors import ConfigError, HessianError
from hessian_common.files import write_private
from hessian_common.format import Currency
from hessian_common.tasks.versions import weights_at
from hessian_common.tasks.workflow import Lender
from hessian_common.untrusted import MAX_BYTES, fetch

CALIBRATION_FILE = "calibration.json"
KEY_FILE = "application_key.json"
POLICY_FILE = "policy.json"


def _noop(*_a: Any, **_k: Any) -> None:
    return None


class ProductDesk:
    """Base of a deployer's desk (see the module docstring).

    Parameters
    ----------
    lender : Lender
        The deployer's books (records, Paillier keys, hold-outs, passphrase), store and
        repository.
    book : ContractWrapper
        The product contract (``LoanBook``, ``PolicyBook``), signing as the deployer.

    Subclasses set :attr:`subdir`, :attr:`model_file`, :attr:`input_error` (the product's
    ``...InputError``, raised with ``{field: message}``) and :attr:`what` (words for
    messages).
    """

    subdir: str = "product"
    model_file: str = "model.json"
    input_error: type[HessianError] = ConfigError
    what: str = "product"
    who: str = "deployer"
    """Words for the deployer in messages ("lender", "insurer"), and the field of the book's
    deployment record that holds its address (``d.lender``, ``d.insurer``)."""
    policy_class: Any = None
    """The product's pricing policy (``from_dict``), as kept in ``policy.json``."""

    def __init__(self, lender: Lender, book: Any):
        if book.client.address != lender.address:
            raise ConfigError(
                f"the {type(book).__name__} client signs as {book.client.address}, the "
                f"{self.who} is {lender.address}"
            )
        self.lender = lender
        self.book = book
        self.store = lender.store
        self._keys: dict[int, bytes] = {}
        self._policies: dict[int, Any] = {}
        self._currencies: dict[int, Currency] = {}
        self._lock = threading.RLock()

    # ------------------------------------------------------------ local files

    @property
    def local_files(self) -> tuple[str, ...]:
        return (self.model_file, CALIBRATION_FILE, KEY_FILE, POLICY_FILE)

    def _dir(self, model_id: int) -> Path:
        return self.lender.books.dir(int(model_id)) / self.subdir

    def _has_local(self, model_id: int) -> bool:
        d = self._dir(model_id)
        return all((d / f).is_file() for f in self.local_files)

    def _read_json(self, model_id: int, name: str) -> Any:
        path = self._dir(model_id) / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None

    def _write_json(self, model_id: int, name: str, obj: Any) -> None:
        write_private(self._dir(model_id) / name, json.dumps(obj, indent=1).encode())

    def _application_key(self, model_id: int) -> bytes:
        """The X25519 private key applications to ``model_id`` are sealed to (cached)."""
        if model_id not in self._keys:
            self._keys[model_id] = self.lender.books.open_secret(
                self._read_json(model_id, KEY_FILE)
            )
        return self._keys[model_id]

    def _save_application_key(self, model_id: int, private: bytes) -> None:
        self._write_json(model_id, KEY_FILE, self.lender.books.seal_secret(private))
        self._keys[int(model_id)] = private

    def policy(self, model_id: int) -> Any:
        """The pricing policy ``model_id`` was deployed with (local; cached)."""
        model_id = int(model_id)
        if model_id not in self._policies:
            d = self._read_json(model_id, POLICY_FILE)
            self._policies[model_id] = self.policy_class.from_dict(d["policy"])
        return self._policies[model_id]

    def currency(self, model_id: int) -> Currency:
        """The :class:`~hessian_common.format.Currency` of ``model_id``'s deployment (chain;
        read once: a deployment's currency never changes)."""
        model_id = int(model_id)
        if model_id not in self._currencies:
            address = self.book.currency_of(model_id)
            self._currencies[model_id] = currency_of(self.book.client, address, strict=False)
        return self._currencies[model_id]

    # ------------------------------------------------------------ deployments

    def is_ours(self, record: Any) -> bool:
        """Whether the book's ``record`` (a deployment, a loan, a policy: its :attr:`who`
        field) names this deployer."""
        return str(getattr(record, self.who)).lower() == self.lender.address.lower()

    def deployed_model(self, model_id: int) -> Any:
        """Our deployment of ``model_id``, or None (the subclass's view)."""
        raise NotImplementedError

    def deployed(self) -> list[Any]:
        """Our deployed models (:meth:`deployed_model`), in deployment order."""
        out = []
        for d in self.book.deployments():
            if self.is_ours(d):
                view = self.deployed_model(d.model_id)
                if view is not None:
                    out.append(view)
        return out

    def _refuse(self, errors: Mapping[str, str]) -> HessianError:
        return self.input_error(dict(errors))  # type: ignore[call-arg]

    # ------------------------------------------------------------ deploy

    def check_deployable(self, model_id: int, errors: dict[str, str]) -> tuple[Any, Any]:
        """``(record, chain info)`` of a CLOSED model of ours; else raises
        :attr:`input_error` with ``errors`` (the caller's policy errors) and the model's."""
        if not self.lender.has_record(model_id):
            errors["model"] = f"model #{model_id} is not one of this {self.who}'s models"
            raise self._refuse(errors)
        info = self.lender.repo.model(int(model_id))
        if str(info.lender).lower() != self.lender.address.lower():
            errors["model"] = f"model #{model_id} belongs to {info.lender}"
        elif info.status != ModelStatus.CLOSED:
            errors["model"] = f"model #{model_id} is still open; close it before deploying"
        if errors:
            raise self._refuse(errors)
        return self.lender.record(model_id), info

    def decrypt_current(
        self, model_id: int, record: Any, info: Any, step: Callable[..., None] = _noop
    ) -> tuple[np.ndarray, Any, np.ndarray, np.ndarray]:
        """``(w, spec, X_hold, y_hold)``: the model's current weights decrypted with its
        Paillier key (``D(enc(w))`` of the chain's current model CID), its spec and the
        private hold-out the calibration is fitted on."""
        books = self.lender.books
        step(message="decrypting the current model")
        spec = books.spec(record.spec_cid)
        enc = weights_at(self.store, spec, str(info.model_cid), record.spec_cid)
        w = decrypt_vector(books.private_key(model_id), enc, self.lender.workers)
        X, y = books.holdout(model_id)
        return np.asarray(w, dtype=float), spec, X, y

    def publish_policy(self, model_id: int, doc: Mapping[str, Any]) -> str:
        """Write ``doc`` locally, put it on the store (pinned), record its CID; the CID."""
        self._write_json(model_id, POLICY_FILE, {**doc, "policy_cid": None})
        cid = str(self.store.put_json(dict(doc)))
        self.store.pin(cid)
        self._write_json(model_id, POLICY_FILE, {**doc, "policy_cid": cid})
        return cid

    # ------------------------------------------------------------ applications

    def fetch_sealed(self, cid: str) -> bytes:
        """The sealed application blob at ``cid`` (bounded read, verified CID)."""
        return fetch(
            self.store, cid, what="sealed application", max_bytes=MAX_BYTES["sealed application"]
        )


__all__ = ["CALIBRATION_FILE", "KEY_FILE", "POLICY_FILE", "ProductDesk"]
