"""Load a lender's or data owner's CSV export against a schema.

Reads both Lending Club layouts with their quirks (see ``shared/LENDING_CLUB.md``):

- the original ``LoanStats3a.csv``: a prospectus line above the header, every value quoted,
  ``"13.56%"``, the ``Loans that do not meet the credit policy`` separator line, the
  ``Total amount funded in policy code N: ...`` footer lines, free-text cells with newlines;
- Kaggle's ``accepted_2007_to_2018Q4.csv``: plain header, numbers without ``%``, and the same
  summary lines *in the middle* of the data, as rows whose ``id`` cell holds the text.

Lines that are not records (the schema's ``non_loan_prefixes``, blank lines) are skipped
anywhere in the file. Labels follow the schema's ``[label]`` table; unresolved loans are
excluded and counted by status. Cells that cannot be parsed are reported in
``LoadedData.problems`` (line number as a text editor shows it, column, message) and become
missing values, which the preprocessing fills by the column's missing-value rule. Files that
cannot be used at all raise :class:`~hessian_common.errors.DataError` (or
:class:`~hessian_common.errors.SchemaError`) naming the file, line and column.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import operator
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hessian_common.data.schema import ColumnSpec, Schema, load_schema
from hessian_common.errors import DataError, SchemaError
from hessian_common.format import format_number
from hessian_common.numbers import PLAIN_NUMBER
from hessian_common.numbers import problem as number_problem

DEFAULT_MAX_BYTES = 2 * 1024**3
"""Default size cap of one input file: 2 GiB (Kaggle's full export is about 1.6 GB)."""

MAX_PROBLEMS = 1000
"""How many cell problems are kept in ``LoadedData.problems`` (all are counted)."""

WRONG_TYPE_FRACTION = 0.5
"""A column where more than this fraction of non-blank cells do not parse is a wrong-type
column: the whole file is refused instead of filling most of the column."""

HEADER_SEARCH_RECORDS = 50
"""The header must be among the first this-many records (the prospectus line comes first)."""


@dataclass(frozen=True)
class Problem:
    """One cell that could not be used: ``row`` is the file's line number (1-based)."""

    row: int
    column: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class LoadedData:
    """Usable rows of one file: typed application-time features and 0/1 labels.

    Attributes
    ----------
    features : DataFrame of shape (rows, n_feature_columns)
        The schema's feature columns: numeric ones float64 (NaN where missing), categorical
        ones text (NaN where missing). Never a leakage column.
    y : ndarray of shape (rows,), int8
        1 = default (Charged Off / Default), 0 = Fully Paid.
    lines : ndarray of shape (rows,)
        Line number in the file where each usable row starts.
    context : DataFrame
        Parsed input columns that are not features (``addr_state``, ``issue_d``...), same rows.
    excluded : dict
        Loans not used, by reason (the status: ``"Current"``, ``"(empty status)"``...).
    problems : list of Problem
        The first ``MAX_PROBLEMS`` cell problems; ``problem_count`` counts them all.
    """

    features: pd.DataFrame
    y: np.ndarray
    schema: Schema
    source: str
    lines: np.ndarray
    context: pd.DataFrame
    excluded: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    non_loan_lines: int = 0
    header_line: int = 1
    policy_loans: int = 0

    @property
    def rows(self) -> int:
        """Number of usable (labelled) rows."""
        return len(self.y)

    @property
    def defaults(self) -> int:
        """Number of usable rows labelled 1 (default)."""
        return int(self.y.sum())

    def digest(self) -> bytes:
        """32-byte SHA-256 dataset digest, independent of row order.

        Canonical serialisation: the schema name and feature column names, then one text line
        per usable row (each value as ``repr(float)`` or the category text, missing as empty,
        then the label), the lines sorted, joined by newlines. So identical data gives the same
        digest whatever the file's row order, quoting, layout (``"13.56%"`` or ``13.56``) or
        summary lines: shuffling a file does not make it new data to submit twice. A subset
        or an edited row gives a different digest.
        """
        cols = list(self.features.columns)
        body = "\n".join(sorted(self.row_texts()))
        head = "\x1f".join([self.schema.name, *cols, self.schema.label.column])
        return hashlib.sha256(f"{head}\n{body}".encode()).digest()

    def row_texts(self) -> list[str]:
        """One canonical text line per usable row, in file order (what :meth:`digest` sorts):
        each feature value as ``repr(float)`` or the category text, missing as empty, then the
        label, separated by ``\x1f``. Identifier columns are not features, so the same loan
        under a new id gives the same line."""
        text = pd.Series([""] * self.rows, dtype=object)
        for c in self.features.columns:
            s = self.features[c]
            if pd.api.types.is_numeric_dtype(s):
                part = s.map(lambda v: "" if v != v else repr(float(v)))
            else:
                part = s.map(lambda v: "" if v is None or v != v else str(v))
            text = text + part.astype(object) + "\x1f"
        text = text + pd.Series(self.y.astype(int)).astype(str).astype(object)
        return text.tolist()

    def row_pseudonyms(self, salt: bytes) -> list[bytes]:
        """Per-model pseudonyms of the rows: ``HMAC-SHA256(salt, row text)[:8]`` each.

        Equal rows (whatever their ids, order or file layout) get equal pseudonyms under one
        salt; the lender compares them across a model's submissions to spot reused rows
        without seeing the rows (:mod:`hessian_common.tasks.evaluate`). 8 bytes make a
        chance collision among a million rows about 1 in 36 million.
        """
        key = bytes(salt)
        return [
            hmac.new(key, line.encode("utf-8"), hashlib.sha256).digest()[:8]
            for line in self.row_texts()
        ]

    def summary(self, max_problems: int = 50) -> dict[str, Any]:
        """JSON-safe report (what ``hessian data inspect --json`` prints)."""
        columns: dict[str, Any] = {}
        for spec in self.schema.feature_specs:
            s = self.features[spec.name]
            info: dict[str, Any] = {"type": spec.type, "missing": int(s.isna().sum())}
            if spec.numeric and s.notna().any():
                info.update(min=float(s.min()), median=float(s.median()), max=float(s.max()))
            elif not spec.numeric:
                info["values"] = {str(k): int(v) for k, v in s.value_counts().items()}
            columns[spec.name] = info
        return {
            "file": self.source,
            "schema": self.schema.name,
            "rows": self.rows,
            "defaults": self.defaults,
            "default_rate": round(self.defaults / self.rows, 6) if self.rows else None,
            "excluded": dict(sorted(self.excluded.items())),
            "excluded_total": sum(self.excluded.values()),
            "policy_loans": self.policy_loans,
            "non_loan_lines": self.non_loan_lines,
            "problems": [p.to_dict() for p in self.problems[:max_problems]],
            "problem_count": self.problem_count,
            "columns": columns,
            "digest": self.digest().hex(),
        }


# -- public entry points -------------------------------------------------------------------


def load_file(
    path: str | Path,
    schema: str | Path | Schema = "lending_club",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    encoding: str = "utf-8",
) -> LoadedData:
    """Load one CSV file against ``schema`` (a built-in name, a TOML path or a ``Schema``).

    Parameters
    ----------
    path : path of the CSV file.
    schema : the schema to check the file against; ``"lending_club"`` by default.
    max_bytes : refuse files larger than this (``DataError``), before reading them.
    encoding : text encoding; UTF-8 (with or without BOM) by default, as the exports are.

    Raises
    ------
    DataError
        Missing, unreadable, too large, empty, binary or wrongly encoded file; no usable row.
    SchemaError
        No header with the schema's columns; a column whose values are of the wrong type.
    """
    schema = load_schema(schema)
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: no such file")
    size = p.stat().st_size
    if size > max_bytes:
        raise DataError(f"{p}: file is {size:,} bytes, more than the limit of {max_bytes:,}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise DataError(f"{p}: cannot read ({exc.strerror})") from None
    return load_bytes(data, schema, source=str(p), encoding=encoding)


def load_many(
    paths: list[str | Path], schema: str | Path | Schema = "lending_club", **kwargs: Any
) -> list[LoadedData]:
    """Load several files with the same schema (e.g. every ``owner_*.csv`` of a split)."""
    schema = load_schema(schema)
    return [load_file(p, schema, **kwargs) for p in paths]


def load_bytes(
    data: bytes,
    schema: str | Path | Schema = "lending_club",
    *,
    source: str = "<upload>",
    encoding: str = "utf-8",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> LoadedData:
    """Load CSV bytes (an upload) against ``schema``; see :func:`load_file`."""
    schema = load_schema(schema)
    if len(data) > max_bytes:
        raise DataError(f"{source}: {len(data):,} bytes, more than the limit of {max_bytes:,}")
    text = _decode(data, source, encoding)
    return _Parser(schema, source).parse(text)


# -- decoding ------------------------------------------------------------------------------


def _decode(data: bytes, source: str, encoding: str) -> str:
    if not data.strip():
        raise DataError(f"{source}: the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{source}: the file is UTF-16 text; save it as UTF-8 CSV")
    nul = data.find(b"\x00", 0, 1 << 20)
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DataError(
            f"{source}: line {line}: binary content (NUL byte at offset {nul}); "
            "expected a UTF-8 CSV text file"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(
            f"{source}: line {line}: not {encoding} text (byte 0x{data[exc.start]:02x} at "
            f"offset {exc.start}); re-save the file as UTF-8"
        ) from None
    except LookupError:
        raise DataError(f"{source}: unknown encoding {encoding!r}") from None


# -- parsing -------------------------------------------------------------------------------


class _Parser:
    """One pass over the records of a file: header, records, labels, typed columns."""

    def __init__(self, schema: Schema, source: str):
        self.schema = schema
        self.source = source
        self.problems: list[Problem] = []
        self.problem_count = 0

    def problem(self, row: int, column: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(int(row), column, message))

    # -- records ---------------------------------------------------------------------------
    def _records(self, text: str):
        reader = csv.reader(io.StringIO(text, newline=""))
        prev = 0
        while True:
            try:
                rec = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise DataError(
                    f"{self.source}: line {prev + 1}: not a readable CSV record ({exc})"
                ) from None
            yield prev + 1, rec
            prev = reader.line_num

    def _find_header(self, records) -> tuple[int, list[str]]:
        schema = self.schema
        need = schema.required_columns
        for i, (line, rec) in enumerate(records):
            cells = [c.strip() for c in rec]
            present = set(cells)
            if schema.label.column in present or sum(n in present for n in need) > len(need) / 2:
                missing = [n for n in need if n not in present]
                if missing:
                    raise SchemaError(
                        f"{self.source}: line {line}: header lacks required column(s) "
                        f"{', '.join(missing)} of schema {schema.name!r}"
                    )
                dupes = sorted({c for c in cells if c and cells.count(c) > 1} & set(need))
                if dupes:
                    raise SchemaError(
                        f"{self.source}: line {line}: column(s) {', '.join(dupes)} appear twice"
                    )
                return line, cells
            if i + 1 >= HEADER_SEARCH_RECORDS:
                break
        raise SchemaError(
            f"{self.source}: no header line with the columns of schema {schema.name!r} "
            f"(e.g. {', '.join(need[:4])}) in the first {HEADER_SEARCH_RECORDS} records; "
            "is this the right kind of CSV file?"
        )

    def parse(self, text: str) -> LoadedData:
        schema = self.schema
        records = self._records(text)
        header_line, header = self._find_header(records)
        ncols = len(header)
        wanted = [schema.label.column] + [c.name for c in schema.columns if c.name in header]
        idx = [header.index(n) for n in wanted]
        pick = operator.itemgetter(*idx)
        id_idx = header.index(schema.id_column) if schema.id_column in header else 0
        prefixes = tuple(schema.non_loan_prefixes)

        lines: list[int] = []
        rows: list[tuple[str, ...]] = []
        non_loan = 0
        malformed = 0
        for line, rec in records:
            if len(rec) == ncols:
                if prefixes and rec[id_idx].lstrip().startswith(prefixes):
                    non_loan += 1
                    continue
                lines.append(line)
                rows.append(pick(rec))
                continue
            if not rec or not any(c.strip() for c in rec):
                continue  # blank line
            if prefixes and rec[0].lstrip().startswith(prefixes):
                non_loan += 1
                continue
            malformed += 1
            self.problem(
                line, "*", f"record has {len(rec)} cells, the header has {ncols}; row skipped"
            )
        if malformed and malformed > max(10, len(rows)):
            raise DataError(
                f"{self.source}: {malformed} records do not have the header's {ncols} cells "
                f"(first at line {self.problems[0].row}); is the delimiter a comma?"
            )
        if not rows:
            raise DataError(f"{self.source}: no data rows after the header on line {header_line}")
        raw = pd.DataFrame(rows, columns=wanted, dtype=object)
        line_arr = np.asarray(lines, dtype=np.int64)

        y, keep, excluded, policy = self._labels(raw[schema.label.column], line_arr)
        if malformed:
            excluded["(malformed record)"] = malformed
        if not keep.any():
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(excluded.items()))
            raise DataError(
                f"{self.source}: no usable rows: all {len(raw)} records are excluded ({reasons})"
            )
        raw = raw.loc[keep].reset_index(drop=True)
        line_arr = line_arr[keep]
        self.drop = np.zeros(len(raw), dtype=bool)
        self.drop_reasons: Counter[str] = Counter()

        parsed: dict[str, pd.Series] = {}
        for spec in schema.columns:
            if spec.name not in raw.columns:
                self.problem(header_line, spec.name, "optional column absent; all missing")
                parsed[spec.name] = pd.Series(
                    np.nan if spec.type != "categorical" else None,
                    index=raw.index,
                    dtype="float64" if spec.type != "categorical" else object,
                )
                continue
            parsed[spec.name] = self._column(raw[spec.name], spec, line_arr)
        for d in schema.derived:
            start, end = parsed[d.start], parsed[d.end]
            parsed[d.name] = ((end - start).dt.days / 365.25).astype("float64")

        features = pd.DataFrame({n: parsed[n] for n in schema.feature_columns})
        context_cols = [c.name for c in schema.columns if not c.feature]
        context = pd.DataFrame({n: parsed[n] for n in context_cols}, index=features.index)
        y_kept, policy_kept = y[keep], policy[keep]
        if self.drop.any():  # rows with an impossible or blank required value (schema rules)
            use = ~self.drop
            features = features.loc[use].reset_index(drop=True)
            context = context.loc[use].reset_index(drop=True)
            y_kept, policy_kept, line_arr = y_kept[use], policy_kept[use], line_arr[use]
            for reason, count in self.drop_reasons.items():
                excluded[reason] = excluded.get(reason, 0) + int(count)
            if not use.any():
                reasons = ", ".join(f"{k}: {v}" for k, v in sorted(excluded.items()))
                raise DataError(
                    f"{self.source}: no usable rows: all {len(use)} loans are excluded "
                    f"({reasons}); the problems list which cells"
                )
        return LoadedData(
            features=features,
            y=y_kept.astype(np.int8),
            schema=schema,
            source=self.source,
            lines=line_arr,
            context=context,
            excluded=excluded,
            problems=self.problems,
            problem_count=self.problem_count,
            non_loan_lines=non_loan,
            header_line=header_line,
            policy_loans=int(policy_kept.sum()),
        )

    # -- labels ----------------------------------------------------------------------------
    def _labels(
        self, raw: pd.Series, lines: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, dict[str, int], np.ndarray]:
        spec = self.schema.label
        status = raw.astype(str).str.strip()
        policy = np.zeros(len(status), dtype=bool)
        if spec.status_prefix:
            is_policy = status.str.startswith(spec.status_prefix)
            policy = is_policy.to_numpy()
            status = status.where(~is_policy, status.str.slice(len(spec.status_prefix)).str.strip())
        neg = status.isin(spec.negative).to_numpy()
        pos = status.isin(spec.positive).to_numpy()
        y = np.where(pos, 1, 0).astype(np.int8)
        keep = neg | pos
        excluded: Counter[str] = Counter()
        unresolved = status.isin(spec.unresolved).to_numpy()
        if spec.unresolved_prefixes:
            unresolved = (
                unresolved | status.str.startswith(tuple(spec.unresolved_prefixes)).to_numpy()
            )
        rest = ~keep
        for value, count in status[rest].value_counts().items():
            reason = value if value else "(empty status)"
            excluded[reason] += int(count)
        unknown = rest & ~unresolved
        for pos_i in np.flatnonzero(unknown)[:MAX_PROBLEMS]:
            self.problem(
                lines[pos_i],
                spec.column,
                f"unknown status {status.iloc[pos_i]!r}; row excluded",
            )
        self.problem_count += max(0, int(unknown.sum()) - MAX_PROBLEMS)
        return y, keep, dict(excluded), policy

    # -- typed columns ---------------------------------------------------------------------
    def _column(self, raw: pd.Series, spec: ColumnSpec, lines: np.ndarray) -> pd.Series:
        if spec.type in ("number", "percent", "months"):
            fast = _all_plain_numbers(raw)
            if fast is not None:
                return self._validity(fast, raw, spec, lines)
        s = raw.astype(str).str.strip()
        blank = (s == "").to_numpy().copy()
        kind = spec.type
        if kind in ("number", "percent"):
            # one reading of numbers (hessian_common.numbers): a comma is ambiguous, refused
            body = s.str.removesuffix("%").str.strip() if kind == "percent" else s
            plain = body.str.fullmatch(PLAIN_NUMBER.pattern).fillna(False).to_numpy()
            value = pd.to_numeric(body.where(pd.Series(plain, index=body.index)), errors="coerce")
            value = value.where(np.isfinite(value.astype("float64")))
        elif kind == "months":
            value = pd.to_numeric(
                s.str.extract(r"^(\d+(?:\.\d+)?)\s*(?:months?)?$", expand=False),
                errors="coerce",
            )
        elif kind == "years":
            low = s.str.lower()
            blank = blank | low.isin(["n/a", "na", "none"]).to_numpy()
            num = low.str.extract(r"^(\d+(?:\.\d+)?)\+?\s*(?:years?)?$", expand=False)
            value = pd.to_numeric(num, errors="coerce")
            value = value.where(~low.str.match(r"^<\s*1\s*(?:years?)?$"), 0.0)
        elif kind == "date":
            value = pd.to_datetime(s.where(~pd.Series(blank)), format=spec.format, errors="coerce")
        else:  # categorical
            value = s.where(~pd.Series(blank, index=s.index), None).astype(object)
            if spec.categories and not spec.other:
                unknown = value.notna() & ~value.isin(spec.categories)
                self._report(
                    unknown.to_numpy(),
                    s,
                    spec,
                    lines,
                    f"not one of {', '.join(spec.categories)}",
                    blank,
                )
                value = value.where(~unknown, None)
            self._blanks(blank, spec, lines)
            return value
        if kind != "date":
            value = value.astype("float64")
        bad = ~blank & value.isna().to_numpy()
        if kind in ("number", "percent"):
            self._report(bad, s, spec, lines, f"not a {_TYPE_WORDS[kind]}", blank, strict=True)
        else:
            self._report(bad, s, spec, lines, f"not a {_TYPE_WORDS[kind]}", blank)
        self._blanks(blank, spec, lines)
        if kind != "date":
            value = value.where(~pd.Series(blank, index=value.index), np.nan)
            value = self._validity(value, s, spec, lines)
        return value

    def _exclude(self, mask: np.ndarray, reason: str) -> None:
        """Leave the rows of ``mask`` out of the data, counted under ``reason``."""
        new = mask & ~self.drop
        if new.any():
            self.drop_reasons[reason] += int(new.sum())
        self.drop |= mask

    def _blanks(self, blank: np.ndarray, spec: ColumnSpec, lines: np.ndarray) -> None:
        """A blank cell of a column whose ``blank = "exclude"``: reported, row left out."""
        if spec.blank != "exclude" or not blank.any():
            return
        for i in np.flatnonzero(blank)[:MAX_PROBLEMS]:
            self.problem(lines[i], spec.name, f"blank; row excluded ({spec.name} is required)")
        self.problem_count += max(0, int(blank.sum()) - MAX_PROBLEMS)
        self._exclude(blank, f"blank {spec.name}")

    def _validity(
        self, value: pd.Series, texts: pd.Series, spec: ColumnSpec, lines: np.ndarray
    ) -> pd.Series:
        """Values outside the schema's ``valid`` range: reported with the rule, then treated
        as missing or their rows excluded (``invalid``)."""
        if spec.valid is None:
            return value
        lo, hi = spec.valid
        numbers = value.to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            out = ~np.isnan(numbers) & ((numbers < lo) | (numbers > hi))
        if not out.any():
            return value
        where = f"outside the valid range {format_number(lo)} to {format_number(hi)}"
        rule = "row excluded" if spec.invalid == "exclude" else spec.fill_words()
        for i in np.flatnonzero(out)[:MAX_PROBLEMS]:
            self.problem(lines[i], spec.name, f"{str(texts.iloc[i]).strip()!r} is {where}; {rule}")
        self.problem_count += max(0, int(out.sum()) - MAX_PROBLEMS)
        if spec.invalid == "exclude":
            self._exclude(out, f"impossible {spec.name}")
            return value
        return value.where(~pd.Series(out, index=value.index), np.nan)

    def _report(
        self,
        bad: np.ndarray,
        s: pd.Series,
        spec: ColumnSpec,
        lines: np.ndarray,
        what: str,
        blank: np.ndarray,
        strict: bool = False,
    ) -> None:
        n_bad = int(bad.sum())
        if not n_bad:
            return
        nonblank = int((~blank).sum())
        first = int(np.flatnonzero(bad)[0])
        percent = spec.type == "percent"

        def words(i: int) -> str:
            if strict:
                return number_problem(s.iloc[i], percent=percent) or f"{s.iloc[i]!r} is {what}"
            return f"{s.iloc[i]!r} is {what}"

        if n_bad > WRONG_TYPE_FRACTION * nonblank:
            raise SchemaError(
                f"{self.source}: column {spec.name}: {n_bad} of {nonblank} values are not "
                f"numbers we can read (first at line {lines[first]}: {words(first)}); wrong "
                "column, wrong schema, or numbers written with commas?"
                if strict
                else f"{self.source}: column {spec.name}: {n_bad} of {nonblank} values are {what} "
                f"(first at line {lines[first]}: {s.iloc[first]!r}); wrong column or wrong schema?"
            )
        rule = spec.fill_words()
        for i in np.flatnonzero(bad)[:MAX_PROBLEMS]:
            self.problem(lines[i], spec.name, f"{words(i)}; {rule}")
        self.problem_count += max(0, n_bad - MAX_PROBLEMS)


def _all_plain_numbers(raw: pd.Series) -> pd.Series | None:
    """Fast path: the whole column is plain finite numbers (no blanks, "%", units), else None.

    Python's ``float`` also reads ``"1_000"``; such a column takes the strict path.
    """
    try:
        values = np.asarray(raw.to_numpy(dtype=object), dtype=np.float64)
    except (ValueError, TypeError):
        return None
    if not np.isfinite(values).all():
        return None
    if raw.astype(str).str.contains("_", regex=False).any():
        return None
    return pd.Series(values, index=raw.index, dtype="float64")


_TYPE_WORDS = {
    "number": "number",
    "percent": "percentage",
    "months": "number of months",
    "years": "length in years",
    "date": "date",
}
