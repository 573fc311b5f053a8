"""Every reader of a stranger's blob: random and adversarial bytes give one error type, never
a crash (hypothesis; the crash that killed the process runs in a subprocess in
tests/tasks/test_evaluate.py).

Readers: the model spec, an encrypted model, an update blob, a loan application, a lending
policy document, a decryption transcript, a revealed test set. Inputs: arbitrary bytes, deep
nesting, huge numbers, arbitrary JSON, valid documents with a field replaced, removed or the
bytes truncated, and valid documents for another model or key.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hessian_common.crypto import encrypt_vector, generate_keypair
from hessian_common.errors import UntrustedBlobError
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob
from hessian_common.lending.application import Application, parse_application
from hessian_common.lending.borrower import parse_policy_document
from hessian_common.lending.pricing import PricingPolicy
from hessian_common.tasks.audit import parse_transcript
from hessian_common.tasks.testset import parse_test_set
from hessian_common.untrusted import check_depth, loads

EXAMPLES = 120

PK, SK = generate_keypair(256)
OTHER_PK, _ = generate_keypair(256)
OWNER = Account.from_key("0x" + "44" * 32)
SPEC = ModelSpec(
    name="spec under test",
    schema_name="lending_club",
    schema={"name": "lending_club"},
    preprocessing={"format": "hessian-preprocessing"},
    public_key=PK,
    weights=encrypt_vector(PK, [0.5, -1.0, 2.0]),
    feature_names=["intercept", "a", "b"],
    rule="newton",
    params={"mu": 0.5},
)


def _update(pk=PK) -> bytes:
    blob = UpdateBlob(
        model_id=1,
        base_model_cid="bafk",
        weights=encrypt_vector(pk, [1.0, 2.0, 3.0]),
        rows=10,
        dataset_digest="00" * 32,
        rule="newton",
        chain_id=1337,
        contract="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        owner=OWNER.address,
    )
    return blob.sign(OWNER).to_bytes()


FORM = {
    "loan_amnt": "8000", "term": "36", "grade": "B", "emp_length": "2 years",
    "home_ownership": "RENT", "annual_inc": "60000", "verification_status": "Verified",
    "purpose": "debt_consolidation", "dti": "14.5", "delinq_2yrs": "0", "fico_range_low": "700",
    "inq_last_6mths": "1", "open_acc": "8", "pub_rec": "0", "revol_bal": "5000",
    "revol_util": "40", "total_acc": "20", "earliest_cr_line": "Jan-2005",
}  # fmt: skip

VALID = {
    "spec": SPEC.to_bytes(),
    "model": EncryptedModel(SPEC.weights, version=2).to_bytes(),
    "update": _update(),
    "application": parse_application(FORM, created_at="2026-01-02T03:04:05Z").to_bytes(),
    "policy": json.dumps(
        {
            "format": "hessian.lending-policy/1",
            "model_id": 3,
            "application_key": "11" * 32,
            "policy": PricingPolicy().to_dict(),
        }
    ).encode(),
    "transcript": json.dumps(
        {
            "format": "hessian.audit-transcript/1",
            "model_id": 4,
            "initial": {"m": ["1"], "r": ["2"], "exponent": -13},
            "submissions": [],
            "acceptance": {"tolerance": 0.0},
        }
    ).encode(),
    "test set": b"label,a,b\n1,0.5,0.25\n0,-1,3\n",
}

READERS = {
    "spec": ModelSpec.from_bytes,
    "model": lambda b: EncryptedModel.from_bytes(b, SPEC),
    "update": lambda b: UpdateBlob.from_bytes(b, SPEC),
    "application": Application.from_bytes,
    "policy": parse_policy_document,
    "transcript": lambda b: parse_transcript(b, 4),
    "test set": parse_test_set,
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda kids: st.lists(kids, max_size=4)
    | st.dictionaries(st.text(max_size=8), kids, max_size=4),
    max_leaves=12,
)


def _mutations(name: str) -> st.SearchStrategy[bytes]:
    """A valid document of ``name`` with one field replaced or removed, or cut short."""
    valid = VALID[name]
    try:
        doc = json.loads(valid)
    except ValueError:
        doc = None
    options = [st.integers(0, len(valid) - 1).map(lambda n: valid[:n])]
    if isinstance(doc, dict):
        keys = sorted(doc)
        options.append(
            st.tuples(st.sampled_from(keys), json_values).map(
                lambda kv: json.dumps({**doc, kv[0]: kv[1]}).encode()
            )
        )
        options.append(
            st.sampled_from(keys).map(
                lambda k: json.dumps({x: v for x, v in doc.items() if x != k}).encode()
            )
        )
    return st.one_of(options)


def _adversarial() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=300),
        st.integers(1, 100_000).map(lambda n: b"[" * n),
        st.integers(1, 5_000).map(lambda n: b'{"a":' * n),
        st.integers(80, 5_000).map(lambda n: b"[" + b"9" * n + b"]"),
        st.sampled_from([b"[1e999]", b"NaN", b"-Infinity", b'{"x": 1e400}', b"\xff\xfe", b""]),
        json_values.map(lambda v: json.dumps(v).encode()),
    )


@pytest.mark.parametrize("name", sorted(READERS))
def test_valid_documents_are_read(name):
    READERS[name](VALID[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(READERS))
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_bad_blob_is_one_error_never_a_crash(name, data):
    blob = data.draw(st.one_of(_adversarial(), _mutations(name)))
    with contextlib.suppress(UntrustedBlobError):  # the one error type; any other fails
        READERS[name](blob)


def test_valid_but_wrong_key_or_model():
    with pytest.raises(UntrustedBlobError, match="under key"):
        UpdateBlob.from_bytes(_update(OTHER_PK), SPEC)
    with pytest.raises(UntrustedBlobError, match="model 4"):
        parse_transcript(VALID["transcript"], 5)


def test_depth_check_ignores_brackets_inside_strings():
    text = json.dumps({"s": "[" * 100 + '\\"' + "{" * 100, "t": ["x"]}).encode()
    check_depth(text, 4)
    assert loads(text)["t"] == ["x"]
    with pytest.raises(UntrustedBlobError, match="deeper"):
        check_depth(b'["\\\\"' + b"," + b"[" * 40, 32)  # an escaped backslash ends no string
