"""Files that cannot be used raise DataError/SchemaError naming file, line and column."""

from __future__ import annotations

import pytest

from hessian_common.data.loader import load_bytes, load_file
from hessian_common.errors import DataError, SchemaError
from tests.data.helpers import csv_text, export_text, row


def load(data: bytes, **kwargs):
    return load_bytes(data, "lending_club", source="bad.csv", **kwargs)


def test_empty_file():
    with pytest.raises(DataError, match="empty"):
        load(b"")
    with pytest.raises(DataError, match="empty"):
        load(b"\n  \n")


def test_binary_file_names_line_and_offset():
    with pytest.raises(DataError, match=r"line 2: binary content \(NUL byte at offset 4\)"):
        load(b"abc\n\x00\x01\x02\x03")


def test_utf16_file():
    text = csv_text([row()])
    with pytest.raises(DataError, match="UTF-16"):
        load(text.encode("utf-16"))


def test_latin1_file_names_line():
    text = csv_text([row(emp_title="Caf\u00e9 owner")])
    with pytest.raises(DataError, match=r"line 3: not utf-8 text \(byte 0xe9"):
        load(text.encode("latin-1"))
    # ...and is read when the caller says what it is
    assert load(text.encode("latin-1"), encoding="latin-1").rows == 1


def test_not_a_csv():
    with pytest.raises(SchemaError, match="no header line"):
        load(b'{"id": 1, "loan_status": "Fully Paid"}\n')
    with pytest.raises(SchemaError, match="no header line"):
        load(b"just some notes\nnothing tabular here\n")


def test_wrong_columns_are_named():
    text = csv_text([row()]).replace('"int_rate"', '"interest"').replace('"grade"', '"grd"')
    with pytest.raises(SchemaError, match=r"line 2: header lacks required column\(s\) int_rate"):
        load(text.encode())
    try:
        load(text.encode())
    except SchemaError as exc:
        assert "grade" in str(exc)


def test_wrong_type_in_a_column_names_column_and_first_line():
    rows = [row(id=str(i), int_rate="high") for i in range(5)]
    with pytest.raises(SchemaError, match=r"column int_rate: 5 of 5 .*first at line 3: 'high'"):
        load(csv_text(rows).encode())


def test_zero_usable_rows():
    rows = [row(id="1", loan_status="Current"), row(id="2", loan_status="In Grace Period")]
    with pytest.raises(DataError, match=r"no usable rows.*Current: 1"):
        load(csv_text(rows).encode())


def test_header_only():
    text = csv_text([])
    with pytest.raises(DataError, match="no data rows after the header on line 2"):
        load(text.encode())


def test_too_large(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(export_text(50, seed=1))
    with pytest.raises(DataError, match="more than the limit of 1,000"):
        load_file(path, max_bytes=1000)
    with pytest.raises(DataError, match="more than the limit"):
        load(path.read_bytes(), max_bytes=1000)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_file(tmp_path / "nope.csv")


def test_semicolon_delimited_file():
    text = csv_text([row(id=str(i)) for i in range(20)], prospectus=False, quote=False)
    body = text.splitlines()
    header = body[0]
    # a European export: header kept, records with a different delimiter
    semi = [header] + [line.replace(",", ";") for line in body[1:]]
    with pytest.raises(DataError, match="do not have the header's"):
        load("\n".join(semi).encode())


def test_bad_input_errors_are_value_errors():
    # callers that only know Python's built-ins still catch them
    with pytest.raises(ValueError):
        load(b"")
