"""Small helpers for the data tests: export text of generated loans, hand-made CSV files."""

from __future__ import annotations

import io

from hessian_common.data.generator import COLUMNS, generate_loans, write_export


def export_text(rows: int = 30, seed: int = 5, layout: str = "original", **kwargs) -> str:
    """Generated loans written in an export layout, as text."""
    buf = io.StringIO()
    write_export(generate_loans(rows, seed, **kwargs), buf, layout)
    return buf.getvalue()


def row(**values: str) -> dict[str, str]:
    """One plausible loan as export text; override cells by keyword."""
    base = {c: "" for c in COLUMNS}
    base.update(
        id="1077501",
        loan_amnt="5000",
        funded_amnt="5000",
        funded_amnt_inv="4975",
        term=" 36 months",
        int_rate="10.65%",
        installment="162.87",
        grade="B",
        sub_grade="B2",
        emp_length="10+ years",
        home_ownership="RENT",
        annual_inc="24000",
        verification_status="Verified",
        issue_d="Dec-2011",
        loan_status="Fully Paid",
        purpose="credit_card",
        addr_state="AZ",
        dti="27.65",
        delinq_2yrs="0",
        earliest_cr_line="Jan-1985",
        fico_range_low="735",
        fico_range_high="739",
        inq_last_6mths="1",
        open_acc="3",
        pub_rec="0",
        revol_bal="13648",
        revol_util="83.7%",
        total_acc="9",
        total_pymnt="5863.16",
    )
    base.update(values)
    return base


def csv_text(rows: list[dict[str, str]], *, prospectus: bool = True, quote: bool = True) -> str:
    """A CSV in the original layout (or plain) from row dicts, header from ``COLUMNS``."""
    import csv

    buf = io.StringIO()
    if prospectus:
        buf.write(
            "Notes offered by Prospectus (https://www.lendingclub.com/info/prospectus.action)\n"
        )
    w = csv.writer(buf, quoting=csv.QUOTE_ALL if quote else csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow([r[c] for c in COLUMNS])
    return buf.getvalue()
