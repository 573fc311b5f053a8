"""Impossible values and ambiguous numbers in a CSV: every bad cell is listed with its row and
column and the rule applied (treated as missing, or the row excluded), never trained on as is.

The cases of the newcomer's report: negative income, negative DTI, FICO -5, a loan amount of
1e308, a blank amount, a decimal comma (DTI "1,5" was read as 15) and thousands separators.
"""

from __future__ import annotations

import math

import pytest

from hessian_common.data import load_bytes, load_schema
from hessian_common.errors import SchemaError
from tests.data.helpers import csv_text, export_text, row


def _load(rows: list[dict[str, str]]):
    return load_bytes(csv_text(rows).encode(), "lending_club", source="loans.csv")


def _by_cell(data) -> dict[tuple[int, str], str]:
    return {(p.row, p.column): p.message for p in data.problems}


GOOD = [row(id=str(i)) for i in range(10, 20)]
"""Ten plain loans around the bad ones (lines 3..12 of the file after the header line 2)."""


def test_each_impossible_cell_is_listed_with_its_rule():
    bad = [
        row(id="1", annual_inc="-24000"),
        row(id="2", dti="-3.5"),
        row(id="3", fico_range_low="-5"),
        row(id="4", loan_amnt="1e308"),
        row(id="5", loan_amnt=""),
        row(id="6", dti="1,5"),
        row(id="7", annual_inc="24,000"),
        row(id="8", revol_bal="inf"),
    ]
    data = _load(bad + GOOD)
    lines = {r["id"]: 3 + i for i, r in enumerate(bad)}  # header on line 2
    cells = _by_cell(data)
    missing = "it is treated as missing"
    assert (
        "'-24000' is outside the valid range 0 to 10,000,000,000"
        in cells[(lines["1"], "annual_inc")]
    )
    assert missing in cells[(lines["1"], "annual_inc")]
    assert "'-3.5' is outside the valid range 0 to 999" in cells[(lines["2"], "dti")]
    assert "'-5' is outside the valid range 300 to 850" in cells[(lines["3"], "fico_range_low")]
    assert missing in cells[(lines["3"], "fico_range_low")]
    assert cells[(lines["4"], "loan_amnt")] == (
        "'1e308' is outside the valid range 1 to 10,000,000; row excluded"
    )
    assert cells[(lines["5"], "loan_amnt")] == "blank; row excluded (loan_amnt is required)"
    assert "it could mean 1.5 or 15" in cells[(lines["6"], "dti")]
    assert missing in cells[(lines["6"], "dti")]
    assert "it could mean 24.000 or 24000" in cells[(lines["7"], "annual_inc")]
    assert "'inf' is not a finite number" in cells[(lines["8"], "revol_bal")]
    assert data.problem_count == len(cells) == 8

    # the rules applied: the two bad amounts are not used, the rest are missing (NaN), never
    # the impossible or misread value
    assert data.excluded == {"impossible loan_amnt": 1, "blank loan_amnt": 1}
    assert data.rows == len(GOOD) + len(bad) - 2
    kept = {int(line): i for i, line in enumerate(data.lines)}
    assert lines["4"] not in kept and lines["5"] not in kept
    f = data.features
    for key, column in [
        ("1", "annual_inc"),
        ("2", "dti"),
        ("3", "fico_range_low"),
        ("6", "dti"),
        ("7", "annual_inc"),
        ("8", "revol_bal"),
    ]:
        assert math.isnan(f[column].iloc[kept[lines[key]]]), (key, column)
    assert (f["loan_amnt"] <= 10_000_000).all() and (f["dti"].dropna() >= 0).all()
    assert 15.0 not in set(f["dti"])  # "1,5" is not read as 15


def test_numbers_that_cannot_be_misread_pass():
    data = _load([row(id="1", dti="1.5", revol_util="41.3%", annual_inc=" 65000 "), *GOOD])
    assert data.problems == []
    assert data.features["dti"].iloc[0] == 1.5 and data.features["annual_inc"].iloc[0] == 65000


def test_a_column_written_with_decimal_commas_is_refused_with_the_reason():
    text = csv_text([row(id=str(i), dti=f"{i % 30},{i % 10}") for i in range(20)])
    with pytest.raises(SchemaError) as err:
        load_bytes(text.encode(), "lending_club", source="de.csv")
    message = str(err.value)
    assert "column dti" in message and "numbers written with commas" in message
    assert "ambiguous" in message


def test_generated_exports_only_report_the_real_dti_sentinel():
    """The generator writes Lending Club's quirks; the only ones the rules catch are the
    dti -1 "not computed" sentinels, treated as missing."""
    data = load_bytes(export_text(20000, seed=3).encode(), "lending_club", source="g.csv")
    assert {p.column for p in data.problems} <= {"dti"}
    assert all("'-1.00' is outside the valid range 0 to 999" in p.message for p in data.problems)
    assert not any(k.startswith(("impossible", "blank")) for k in data.excluded)


def test_the_rules_are_in_the_schema_and_words_for_the_page():
    schema = load_schema("lending_club")
    amount = schema.column("loan_amnt")
    assert amount.valid == (1.0, 10_000_000.0) and amount.invalid == amount.blank == "exclude"
    assert schema.column("dti").valid == (0.0, 999.0)
    assert schema.column("fico_range_low").valid == (300.0, 850.0)
    assert "valid 300 to 850" in schema.column("fico_range_low").rule_words()
    assert "a blank cell excludes the row" in amount.rule_words()
    # the rules travel with the schema inside a model's spec
    again = type(schema).from_dict(schema.to_dict())
    assert again.column("loan_amnt") == amount


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"valid": [5, 1]}, "low <= high"),
        ({"valid": [0, float("inf")]}, "finite numbers"),
        ({"invalid": "drop"}, "invalid must be one of missing, exclude"),
        ({"blank": "zero"}, "blank must be one of missing, exclude"),
    ],
)
def test_bad_rules_in_a_schema_file_are_named(entry, message):
    schema = load_schema("lending_club").to_dict()
    column = next(c for c in schema["columns"] if c["name"] == "dti")
    column.update(entry)
    with pytest.raises(SchemaError, match=message):
        type(load_schema("lending_club")).from_dict(schema)
