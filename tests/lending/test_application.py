"""The application form: parsing, canonical bytes, and features the preprocessing accepts."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from hessian_common.errors import LendingInputError, UntrustedBlobError
from hessian_common.lending.application import (
    APPLICATION_FIELDS,
    Application,
    application_from_row,
    features_frame,
    parse_application,
)

NOW = "2026-11-26T09:30:00Z"


def good_form(**over):
    form = {
        "loan_amnt": "12000",
        "term": "36",
        "grade": "b",
        "emp_length": "10+ years",
        "annual_inc": "$65000",
        "dti": "14.5",
        "fico_range_low": "705",
        "delinq_2yrs": "0",
        "inq_last_6mths": "1",
        "open_acc": "9",
        "pub_rec": "0",
        "revol_bal": "$8200",
        "revol_util": "41.3%",
        "total_acc": "21",
        "home_ownership": "RENT",
        "purpose": "credit_card",
        "verification_status": "Verified",
        "earliest_cr_line": "Jan-2005",
        "addr_state": "",
        "csrf_token": "ignored",
    }
    form.update(over)
    return form


def test_fields_are_the_features_minus_the_rate_dependent_ones(lending_club_schema):
    names = {f.name for f in APPLICATION_FIELDS}
    features = set(lending_club_schema.feature_columns)
    assert features - names == {"int_rate", "installment", "credit_history_years"}
    assert names - features == {"earliest_cr_line", "addr_state"}
    optional = {f.name for f in APPLICATION_FIELDS if not f.required}
    assert optional == {"addr_state", "revol_util"}


def test_parse_a_good_form():
    app = parse_application(good_form(), created_at=NOW)
    assert app.amount == 12_000 and app.term == 36 and app.grade == "B"
    assert app.fields["annual_inc"] == 65_000 and app.fields["revol_util"] == 41.3
    assert "addr_state" not in app.fields and "csrf_token" not in app.fields
    assert app.month == "Nov-2026" and app.created_at == NOW


@pytest.mark.parametrize(
    ("field", "typed", "readings"),
    [
        ("dti", "1,5", "1.5 or 15"),  # sealed and put on chain as 15 before
        ("loan_amnt", "12,000", "12.000 or 12000"),
        ("annual_inc", "$65,000", "65.000 or 65000"),
        ("revol_util", "41,3%", "41.3 or 413"),
        ("revol_bal", "8 200", None),
        ("annual_inc", "65'000", None),
        ("dti", "1.2.3", None),
    ],
)
def test_an_ambiguous_number_is_refused_never_guessed(field, typed, readings):
    with pytest.raises(LendingInputError) as e:
        parse_application(good_form(**{field: typed}), created_at=NOW)
    assert set(e.value.errors) == {field}
    message = e.value.errors[field]
    assert repr(typed) in message
    assert any(w in message for w in ("no separators", "without one", "one decimal point"))
    if readings:
        assert f"it could mean {readings}" in message


def test_numbers_that_cannot_be_misread_are_accepted():
    app = parse_application(
        good_form(dti="1.5", loan_amnt="$12000", revol_util="41.3%", annual_inc=" 65000 "),
        created_at=NOW,
    )
    assert app.fields["dti"] == 1.5 and app.amount == 12_000
    assert app.fields["revol_util"] == 41.3 and app.fields["annual_inc"] == 65_000
    with pytest.raises(LendingInputError) as e:  # a % where no percentage is asked
        parse_application(good_form(fico_range_low="700%"), created_at=NOW)
    assert "without the % sign" in e.value.errors["fico_range_low"]


def test_every_bad_field_is_named():
    form = good_form(
        loan_amnt="500", term="48", grade="H", emp_length="ages", annual_inc="lots",
        dti="-1", fico_range_low="700.5", delinq_2yrs="", earliest_cr_line="2005-01",
        addr_state="XX", total_acc="3", open_acc="4", revol_util="inf",
    )  # fmt: skip
    with pytest.raises(LendingInputError) as e:
        parse_application(form, created_at=NOW)
    assert set(e.value.errors) == {
        "loan_amnt", "term", "grade", "emp_length", "annual_inc", "dti", "fico_range_low",
        "delinq_2yrs", "earliest_cr_line", "addr_state", "total_acc", "revol_util",
    }  # fmt: skip
    assert e.value.errors["delinq_2yrs"] == "required"
    with pytest.raises(LendingInputError, match="after the application month"):
        parse_application(good_form(earliest_cr_line="Dec-2026"), created_at=NOW)
    with pytest.raises(LendingInputError):
        parse_application(good_form(), created_at="yesterday")


def test_canonical_bytes_digest_and_round_trip():
    app = parse_application(good_form(), created_at=NOW)
    data = app.to_bytes()
    assert b'"format":"hessian.application/1"' in data and b" " not in data.replace(b"10+ ", b"")
    again = Application.from_bytes(data)
    assert again == app and again.digest() == app.digest() and len(app.digest()) == 32
    other = parse_application(good_form(dti="14.6"), created_at=NOW)
    assert other.digest() != app.digest()
    with pytest.raises(UntrustedBlobError, match="dti"):
        Application.from_bytes(data.replace(b'"dti":14.5', b'"dti":999'))
    with pytest.raises(UntrustedBlobError):
        Application.from_bytes(b"not json")
    with pytest.raises(UntrustedBlobError, match="canonical"):  # valid but not canonical
        Application.from_bytes(data.replace(b",", b", ", 1))


def test_generated_rows_give_the_loaders_features(fitted_preprocessor):
    """features_frame(application_from_row(row), row's rate, row's installment) is what the
    loader makes of the same row, for rows the form's bounds leave unchanged."""
    from hessian_common.data.generator import generate_loans, write_export
    from hessian_common.data.loader import load_bytes

    frame = generate_loans(300, seed=3, policy_fraction=0.0, unresolved_fraction=0.0)
    buf = io.StringIO()
    write_export(frame, buf, layout="kaggle")
    loaded = load_bytes(buf.getvalue().encode(), "lending_club", source="gen.csv")
    assert loaded.rows == len(frame)
    X_loader = fitted_preprocessor.transform(loaded.features)
    kept = 0
    for i, row in frame.iterrows():
        app = application_from_row(row.to_dict())
        assert app.month == row["issue_d"]
        unchanged = (
            1000 <= row.loan_amnt <= 40000 and 0 <= row.dti <= 100
            and row.annual_inc <= 10_000_000 and not (row.revol_util > 200)
        )  # fmt: skip
        if not unchanged:
            continue
        kept += 1
        x = fitted_preprocessor.transform(features_frame(app, row.int_rate, row.installment))
        assert np.allclose(x[0], X_loader[i], atol=1e-9), i
    assert kept > 270


def test_features_frame_columns(lending_club_schema):
    app = parse_application(good_form(revol_util="", emp_length="n/a"), created_at=NOW)
    f = features_frame(app, 11.0, 392.87)
    assert tuple(f.columns) == lending_club_schema.feature_columns
    assert np.isnan(f["revol_util"][0]) and np.isnan(f["emp_length"][0])
    assert f["credit_history_years"][0] == pytest.approx(21.83, abs=0.01)
    assert isinstance(f, pd.DataFrame) and len(f) == 1


def test_drafts_keep_only_the_form_fields_and_survive_garbage(tmp_path):
    """The borrower's unsent answers (``borrower.save_draft``): private, scoped, forgiving."""
    from hessian_common.lending import borrower

    assert borrower.load_draft(tmp_path, 3) is None  # none yet
    assert borrower.load_draft(None, 3) is None  # no state directory: no drafts
    path = borrower.save_draft(
        tmp_path, 3, {"annual_inc": "50000", "grade": "B", "evil": "x", "dti": ""}, now=1.5e9
    )
    assert path.stat().st_mode & 0o777 == 0o600
    draft = borrower.load_draft(tmp_path, 3)
    assert draft == borrower.Draft(3, {"annual_inc": "50000", "grade": "B"}, 1.5e9)
    assert borrower.load_draft(tmp_path, 4) is None  # per model
    borrower.save_draft(tmp_path, 3, {"annual_inc": "9" * 500}, created_at="2026-01-02T03:04:05Z")
    again = borrower.load_draft(tmp_path, 3)
    assert len(again.values["annual_inc"]) == 200  # capped
    assert again.created_at == "2026-01-02T03:04:05Z"  # the application's stamp, kept
    path.write_text("{not json")
    assert borrower.load_draft(tmp_path, 3) is None  # unreadable: as if none
    borrower.discard_draft(tmp_path, 3)
    borrower.discard_draft(tmp_path, 3)  # twice is fine
    assert not path.exists()
