"""The loader: every quirk of the real Lending Club exports, labels, problems, digest."""

from __future__ import annotations

import math

import pytest

from hessian_common.data.generator import generate_loans, write_export
from hessian_common.data.loader import load_bytes, load_file
from hessian_common.data.schema import is_leakage
from tests.data.helpers import csv_text, export_text, row


def load_text(text: str, **kwargs):
    return load_bytes(text.encode("utf-8"), "lending_club", source="t.csv", **kwargs)


# -- layouts -------------------------------------------------------------------------------


def test_original_layout_prospectus_separator_footer():
    text = export_text(200, seed=1, layout="original")
    lines = text.splitlines()
    assert lines[0].startswith("Notes offered by Prospectus")
    assert '"Loans that do not meet the credit policy"' in lines
    assert lines[-1].startswith('"Total amount funded in policy code 2:')
    data = load_text(text)
    assert data.header_line == 2
    assert data.non_loan_lines == 3  # separator + two footer lines
    assert data.policy_loans > 0
    assert data.rows + sum(data.excluded.values()) == 200
    assert data.problem_count == 0


def test_kaggle_layout_summary_rows_in_the_middle():
    text = export_text(400, seed=2, layout="kaggle")
    lines = text.splitlines()
    totals = [i for i, line in enumerate(lines) if line.startswith("Total amount funded")]
    assert totals[0] < len(lines) // 2  # really in the middle, not only at the bottom
    assert not lines[0].startswith("Notes")
    assert "%" not in lines[1].split(",")[6]  # int_rate without %
    data = load_text(text)
    assert data.header_line == 1
    assert data.non_loan_lines == len(totals) + 1  # + the policy separator
    assert data.rows + sum(data.excluded.values()) == 400


def test_same_loans_in_both_layouts_give_identical_features_and_digest():
    frame = generate_loans(300, 9)
    import io

    a, b = io.StringIO(), io.StringIO()
    write_export(frame, a, "original")
    write_export(frame, b, "kaggle")
    da, db = load_text(a.getvalue()), load_text(b.getvalue())
    # the kaggle layout puts the policy loans in the middle: compare in one row order
    key = list(da.features.columns)
    fa = da.features.assign(y=da.y).sort_values(key).reset_index(drop=True)
    fb = db.features.assign(y=db.y).sort_values(key).reset_index(drop=True)
    assert fa.equals(fb)
    assert da.excluded == db.excluded
    assert da.digest() == db.digest()


# -- cell formats --------------------------------------------------------------------------


def test_term_percent_emp_length_dates_and_blanks():
    rows = [
        row(id="1", term=" 36 months", int_rate="10.65%", emp_length="10+ years"),
        row(id="2", term=" 60 months", int_rate=" 13.56% ", emp_length="< 1 year"),
        row(id="3", int_rate="7.9", revol_util="", emp_length="n/a"),
        row(id="4", emp_length="1 year", revol_util="29.7"),
        row(id="5", emp_length="3 years", earliest_cr_line="", revol_util="892%"),
    ]
    data = load_text(csv_text(rows))
    f = data.features
    assert f["term"].tolist() == [36, 60, 36, 36, 36]
    assert f["int_rate"].tolist() == [10.65, 13.56, 7.9, 10.65, 10.65]
    assert f["emp_length"].iloc[:2].tolist() == [10, 0]
    assert math.isnan(f["emp_length"].iloc[2])  # "n/a" is missing, not a problem
    assert f["emp_length"].iloc[3:].tolist() == [1, 3]
    assert math.isnan(f["revol_util"].iloc[2])  # blank revol_util
    assert f["revol_util"].iloc[3:].tolist() == [29.7, 892.0]  # outliers kept; clipped later
    # Dec-2011 - Jan-1985 = 26 years 11 months
    assert f["credit_history_years"].iloc[0] == pytest.approx(26 + 11 / 12, abs=0.005)
    assert math.isnan(f["credit_history_years"].iloc[4])
    assert data.problem_count == 0


def test_quoted_multiline_cells_keep_line_numbers_right():
    rows = [
        row(id="1", desc="first line\nsecond line, with a comma"),
        row(id="2", desc='she said "hi"\n\nthird'),
        row(id="3", dti="abc"),
    ]
    data = load_text(csv_text(rows))
    assert data.rows == 3
    # line 1 prospectus, 2 header, 3-4 row 1, 5-7 row 2, 8 row 3
    assert data.lines.tolist() == [3, 5, 8]
    assert [(p.row, p.column) for p in data.problems] == [(8, "dti")]
    assert "'abc'" in data.problems[0].message
    assert math.isnan(data.features["dti"].iloc[2])


def test_labels_policy_statuses_and_unresolved_counted():
    statuses = [
        "Fully Paid",
        "Charged Off",
        "Default",
        "Does not meet the credit policy. Status:Fully Paid",
        "Does not meet the credit policy. Status:Charged Off",
        "Current",
        "Late (16-30 days)",
        "Late (31-120 days)",
        "In Grace Period",
        "",
    ]
    rows = [row(id=str(i), loan_status=s) for i, s in enumerate(statuses)]
    data = load_text(csv_text(rows))
    assert data.y.tolist() == [0, 1, 1, 0, 1]
    assert data.rows == 5 and data.defaults == 3
    assert data.policy_loans == 2
    assert data.excluded == {
        "Current": 1,
        "Late (16-30 days)": 1,
        "Late (31-120 days)": 1,
        "In Grace Period": 1,
        "(empty status)": 1,
    }
    assert data.problem_count == 0


def test_unknown_status_is_excluded_and_reported():
    data = load_text(csv_text([row(id="1"), row(id="2", loan_status="Paid Off Early")]))
    assert data.rows == 1
    assert data.excluded == {"Paid Off Early": 1}
    assert data.problems[0].row == 4 and data.problems[0].column == "loan_status"


def test_leakage_columns_are_never_features(lending_club_schema):
    data = load_text(export_text(100, seed=3))
    for col in data.features.columns:
        assert not is_leakage(lending_club_schema, col), col
    for leak in ("total_pymnt", "recoveries", "last_fico_range_high", "funded_amnt_inv"):
        assert leak not in data.features.columns
    assert "loan_status" not in data.features.columns


def test_isolated_bad_cells_are_problems_not_errors():
    rows = [row(id=str(i)) for i in range(10)]
    rows[4] = row(id="4", annual_inc="lots", grade="Z")
    data = load_text(csv_text(rows))
    assert data.rows == 10
    found = {(p.row, p.column) for p in data.problems}
    assert found == {(7, "annual_inc"), (7, "grade")}
    assert data.features["grade"].isna().sum() == 1


def test_digest_independent_of_row_order_but_not_of_content():
    rows = [row(id=str(i), annual_inc=str(20000 + i)) for i in range(6)]
    d1 = load_text(csv_text(rows)).digest()
    d2 = load_text(csv_text(rows[::-1], prospectus=False, quote=False)).digest()
    d3 = load_text(csv_text(rows[:5])).digest()
    rows[2] = row(id="2", annual_inc="99999")
    d4 = load_text(csv_text(rows)).digest()
    assert len(d1) == 32
    assert d1 == d2
    assert d1 != d3 and d1 != d4


def test_load_file_reads_the_committed_samples():
    a = load_file("data/LoanStats3a_sample.csv")
    b = load_file("data/accepted_2007_to_2018Q4_sample.csv")
    assert a.rows > 1000 and b.rows > 900
    assert 0.08 < a.defaults / a.rows < 0.25
    assert b.non_loan_lines >= 3


def test_summary_is_json_safe():
    import json

    data = load_text(export_text(60, seed=4))
    report = json.loads(json.dumps(data.summary()))
    assert report["rows"] == data.rows
    assert set(report["columns"]) == set(data.features.columns)
