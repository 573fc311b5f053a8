"""Every bad file gets a clear message and changes nothing: no journal entry, no blob in the
store, no transaction, no upload left behind."""

from __future__ import annotations

import re

import pytest

from tests.data_owner_app.helpers import upload

GOOD_HEADER = (
    '"id","loan_amnt","term","int_rate","grade","emp_length","home_ownership","annual_inc",'
    '"loan_status","purpose","addr_state","dti"\n'
)


def _assert_nothing_changed(app, owner_repo, lender, owner_store, blobs_before):
    svc = app.extensions["owner"]
    assert svc.journal.entries() == []
    assert owner_repo.model(lender.model_id).submission_count == 0
    assert sorted(p.name for p in owner_store.root.rglob("*") if p.is_file()) == blobs_before
    assert not svc.uploads_dir.exists() or list(svc.uploads_dir.iterdir()) == []


def _blobs(store):
    return sorted(p.name for p in store.root.rglob("*") if p.is_file())


def _wrong_types(split) -> bytes:
    """A real export whose int_rate column holds words."""
    text = (split / "owner_01.csv").read_text()
    import csv
    import io

    rows = list(csv.reader(io.StringIO(text)))
    header = rows[1]
    col = header.index("int_rate")
    for r in rows[2:]:
        if len(r) == len(header):
            r[col] = "high"
    out = io.StringIO()
    out.write(text.splitlines()[0] + "\n")
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows(rows[1:])
    return out.getvalue().encode()


BAD_FILES = {
    "empty": (lambda split: b"", "empty"),
    "only whitespace": (lambda split: b"\n\n   \n", "empty"),
    "binary": (lambda split: bytes(range(256)) * 40, "binary"),
    "png image": (lambda split: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64, "binary"),
    "utf-16": (lambda split: (split / "owner_01.csv").read_text().encode("utf-16"), "UTF-16"),
    "latin-1": (
        lambda split: (
            GOOD_HEADER + '"1","1000"," 36 months","10%","A","1 year","RENT",'
            '"50000","Fully Paid","car","CA","3"\n"2","Caf\xe9 owner"\n'
        ).encode("latin-1"),
        "UTF-8",
    ),
    "wrong columns": (lambda split: b"name,age,city\nAnn,34,Paris\nBob,40,Rome\n", "column"),
    "json, not csv": (lambda split: b'{"loans": [{"id": 1, "loan_amnt": 1000}]}\n', "column"),
    "header only": (lambda split: (split / "owner_01.csv").read_text().split("\n")[0:2], None),
    "wrong types": (_wrong_types, "int_rate"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_upload_is_refused_with_a_message(
    case, app, client, lender, owner_repo, owner_store, owner_split
):
    make, expected = BAD_FILES[case]
    data = make(owner_split)
    if isinstance(data, list):  # header only: the prospectus line and the header
        data = ("\n".join(data) + "\n").encode()
        expected = "no data rows"
    before = _blobs(owner_store)
    r = upload(client, lender.model_id, data, f"{case}.csv")
    body = r.get_data(as_text=True)
    assert r.status_code == 400, body[-1500:]
    assert "This file cannot be used" in body and "Nothing was sent" in body
    assert expected.lower() in body.lower(), body[body.find("flash-error") :][:600]
    # the message is a sentence: one full stop before "Nothing was sent", never none or two
    flash = re.sub(r"<[^>]+>", "", body.split('class="flash flash-error"', 1)[1].split("</div>")[0])
    assert re.search(r"[^.][.?] +Nothing was sent\.", flash), flash
    assert "Traceback" not in body
    # the message names the file by the name the owner gave, not our private temp path
    assert str(app.extensions["owner"].uploads_dir) not in body
    _assert_nothing_changed(app, owner_repo, lender, owner_store, before)


def test_too_few_rows(app, client, lender, owner_repo, owner_store, owner_split):
    text = (owner_split / "owner_01.csv").read_text()
    lines = text.split("\n")
    head = "\n".join(lines[:2] + [ln for ln in lines[2:40] if "Fully Paid" in ln][:3]) + "\n"
    before = _blobs(owner_store)
    r = upload(client, lender.model_id, head.encode(), "tiny.csv")
    assert r.status_code == 400
    assert "usable loan rows" in r.get_data(as_text=True)
    _assert_nothing_changed(app, owner_repo, lender, owner_store, before)


def test_huge_upload_is_refused_before_reading(app, client, lender, owner_repo, owner_store):
    """Over the upload cap (2 MiB in these tests): 413 with a hint, nothing written."""
    cap = app.config["MAX_CONTENT_LENGTH"]
    before = _blobs(owner_store)
    r = upload(client, lender.model_id, b"x" * (cap + 1024), "huge.csv")
    assert r.status_code == 413
    body = r.get_data(as_text=True)
    assert "Upload too large" in body and "local path" in body
    _assert_nothing_changed(app, owner_repo, lender, owner_store, before)


def test_missing_local_path(app, client, lender, owner_repo, owner_store, tmp_path):
    before = _blobs(owner_store)
    r = client.post(f"/models/{lender.model_id}/share", data={"path": str(tmp_path / "nope.csv")})
    assert r.status_code == 400
    assert "no such file" in r.get_data(as_text=True)
    _assert_nothing_changed(app, owner_repo, lender, owner_store, before)


def test_neither_or_both_inputs(client, lender, owner_split):
    r = client.post(f"/models/{lender.model_id}/share", data={})
    assert r.status_code == 400
    assert "Choose a CSV file to upload" in r.get_data(as_text=True)


def test_unknown_staging_token_is_404(client):
    r = client.get("/share/not-a-token")
    assert r.status_code == 404
    assert "choose it again" in r.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/models/99/share", "/models/99"])
def test_unknown_model_is_a_404_in_words(client, url):
    r = client.get(url)
    assert r.status_code == 404
    body = r.get_data(as_text=True)
    assert "There is no model #99 on this chain." in body
    assert "UnknownModel" not in body and "reverted" not in body


def test_impossible_cells_are_listed_with_their_rule_in_the_check(client, lender):
    from tests.data.helpers import csv_text, row
    from tests.data_owner_app.helpers import token_of

    rows = [
        row(id=str(i), loan_status="Charged Off" if i % 4 == 0 else "Fully Paid") for i in range(12)
    ]
    rows += [
        row(id="90", fico_range_low="-5"),
        row(id="91", loan_amnt="1e308"),
        row(id="92", dti="1,5"),
    ]
    r = upload(client, lender.model_id, csv_text(rows).encode(), "odd.csv")
    page = client.get(f"/share/{token_of(r)}").get_data(as_text=True)
    problems = page.split('class="problems"', 1)[1].split("</table>", 1)[0]
    assert '<td class="num">15</td><td><code>fico_range_low</code></td>' in problems
    assert "&#39;-5&#39; is outside the valid range 300 to 850" in problems
    assert "&#39;1e308&#39; is outside the valid range 1 to 10,000,000; row excluded" in problems
    assert "it could mean 1.5 or 15" in problems
    rules = page.split('id="rules"', 1)[1].split("</dl>", 1)[0]
    assert "fico_range_low" in rules and "valid 300 to 850" in rules
    assert "loan_amnt" in rules and "the row is excluded" in rules
    assert "impossible loan_amnt" in page  # counted among the excluded rows
