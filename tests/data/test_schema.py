"""Schema files: the built-in one, a second domain with no code change, and invalid files."""

from __future__ import annotations

import json

import pytest

from hessian_common.data.loader import load_file
from hessian_common.data.preprocess import Preprocessor
from hessian_common.data.schema import Schema, builtin_schemas, is_leakage, load_schema
from hessian_common.errors import SchemaError

INSURANCE = "hessian_common/data/schemas/insurance_claims.toml"  # read as a file path


def test_builtin_lending_club(lending_club_schema):
    s = lending_club_schema
    assert "lending_club" in builtin_schemas()
    assert s.label.column == "loan_status"
    assert "credit_history_years" in s.feature_columns
    assert "issue_d" not in s.feature_columns  # a date: input of a derived feature only
    assert s.label.status_prefix == "Does not meet the credit policy. Status:"
    for leak in ("total_pymnt", "hardship_flag", "settlement_amount", "funded_amnt_inv"):
        assert is_leakage(s, leak)
    assert not any(is_leakage(s, c) for c in s.feature_columns)


def test_schema_dict_round_trip(lending_club_schema):
    data = json.loads(json.dumps(lending_club_schema.to_dict()))
    assert Schema.from_dict(data) == lending_club_schema


def test_second_domain_loads_and_preprocesses_without_code_change():
    schema = load_schema(INSURANCE)
    data = load_file("data/insurance_claims_sample.csv", schema)
    assert data.rows > 300
    assert 0.05 < data.defaults / data.rows < 0.5
    assert set(data.excluded) <= {"Open", "Under Review", "(empty status)"}
    assert data.non_loan_lines == 1  # the "Total policies" footer
    assert "claim_amount" not in data.features.columns  # leakage
    pp = Preprocessor(schema).fit(data.features)
    X = pp.transform(data.features)
    assert X.shape == (data.rows, pp.n_features_)
    assert "vehicle_type=missing" in pp.feature_names_  # the "category" missing rule
    assert "vehicle_age_years" in pp.feature_names_  # derived from two %Y-%m-%d dates
    assert (
        Preprocessor.from_dict(json.loads(json.dumps(pp.to_dict())))
        .transform(data.features)
        .tolist()
        == X.tolist()
    )


def write(tmp_path, text: str):
    path = tmp_path / "s.toml"
    path.write_text(text)
    return path


MINIMAL = """
name = "t"
[label]
column = "y"
negative = ["no"]
positive = ["yes"]
[[columns]]
name = "x"
type = "number"
"""


def test_minimal_schema(tmp_path):
    s = load_schema(write(tmp_path, MINIMAL))
    assert s.feature_columns == ("x",)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t + "\nbogus = 1\n", "unknown key.*bogus"),
        (lambda t: t.replace('type = "number"', 'type = "complex"'), "type must be one of"),
        (lambda t: t.replace("[label]", "[labels]"), "unknown key.*labels"),
        (lambda t: t.replace('positive = ["yes"]', 'positive = ["no"]'), "both positive"),
        (lambda t: t + 'leakage = ["x"]\n', None),
        (lambda t: t.replace('name = "x"', 'name = "y"'), "label column"),
        (lambda t: t + '[[columns]]\nname = "c"\ntype = "categorical"\n', "fixed 'categories'"),
        (lambda t: t + '[[columns]]\nname = "x"\ntype = "number"\n', "listed twice"),
        (lambda t: t.replace('type = "number"', 'type = "number"\nclip = [5, 1]'), "clip"),
        (lambda t: t.replace('type = "number"', 'type = "number"\nmissing = "mode"'), "mode"),
        (lambda t: t + "[[columns]\n", "invalid TOML"),
    ],
)
def test_invalid_schema_files(tmp_path, edit, message):
    text = edit(MINIMAL)
    if message is None:  # a leakage column as a feature; leakage must be a top-level key
        text = 'leakage = ["x"]\n' + MINIMAL
        message = "leakage list"
    with pytest.raises(SchemaError, match=message):
        load_schema(write(tmp_path, text))


def test_unknown_schema_name():
    with pytest.raises(SchemaError, match=r"not a built-in schema.*lending_club"):
        load_schema("no_such_schema")


def test_file_that_does_not_match_a_schema(tmp_path):
    with pytest.raises(
        SchemaError, match="no header line with the columns of schema 'lending_club'"
    ):
        load_file("data/insurance_claims_sample.csv")
