"""Schema files: what a lender's CSV holds and how each column becomes a feature.

A schema is a TOML file, so another lender's export or an insurance data set is used without
new code. The built-in ``lending_club`` schema (``schemas/lending_club.toml`` next to this
module) describes both Lending Club layouts. Layout of a schema file::

    name = "lending_club"
    description = "..."
    id_column = "id"                       # where summary lines put their text (optional)
    non_loan_prefixes = ["Notes offered by Prospectus", ...]   # lines that are not records
    leakage = ["total_pymnt", ...]         # columns that must never be features

    [label]
    column = "loan_status"
    negative = ["Fully Paid"]              # -> 0
    positive = ["Charged Off", "Default"]  # -> 1
    unresolved = ["Current", "In Grace Period", "Late (16-30 days)", ""]  # excluded, counted
    unresolved_prefixes = ["Late"]         # any other status starting so: excluded too
    status_prefix = "Does not meet the credit policy. Status:"  # stripped, then mapped

    [[columns]]
    name = "int_rate"
    type = "percent"        # number | percent | months | years | categorical | date
    missing = "median"      # median | constant (with fill=) | mode | other | category
    clip = [0.0, 40.0]      # optional, applied before the log and the standardisation
    log = false             # optional: x -> log(1 + max(x, 0)) for heavy tails
    feature = true          # false: parsed (e.g. a date used by a derived column), not a feature
    required = true         # false: a missing column is tolerated (all values missing)
    valid = [0.0, 100.0]    # optional (numeric): the values possible at all
    invalid = "missing"     # a value outside `valid`: "missing" (reported, filled) or
                            # "exclude" (reported, row not used)
    blank = "missing"       # a blank cell: "missing" (filled) or "exclude" (reported, row
                            # not used: the value is required)

    [[derived]]
    name = "credit_history_years"
    kind = "years_between"  # (end - start) in years of 365.25 days
    start = "earliest_cr_line"
    end = "issue_d"

    interactions = [["term", "int_rate"]]   # optional: products of two numeric features

Basis expansions of a numeric column (or derived one), fitted by the lender on its own loans
and published with the preprocessing (``hessian_common.data.preprocess``); the linear term
stays, the expansion adds columns after the one-hot ones::

    basis = "spline"        # restricted (natural) cubic spline: knots - 2 extra columns
    knots = 4               #   at quantiles of the lender's data (3..7)
    basis = "bins"          # quantile bins: bins - 1 indicator columns (the first bin is
    bins = 5                #   the reference)
    basis = "woe"           # weight of evidence of quantile bins: one extra column (needs
                            #   the lender's labels)
    indicator = true        # a 0/1 column: the value was missing (before the fill)

Column types (parsing, by the loader):

- ``number``: a plain number, read by :mod:`hessian_common.numbers`: digits with at most one
  decimal point; ``"1,5"`` or ``"1,234"`` (a comma, a decimal comma or a thousands separator)
  is ambiguous, reported and treated as missing, never guessed.
- ``percent``: ``"13.56%"`` or ``"13.56"`` -> 13.56 (both Lending Club layouts).
- ``months``: ``" 36 months"`` or ``"36"`` -> 36.
- ``years``: ``"10+ years"`` -> 10, ``"< 1 year"`` -> 0, ``"3 years"`` -> 3, ``"n/a"`` -> missing.
- ``categorical``: text; ``categories`` fixes the one-hot columns (the first is the reference
  level and gets no column when ``drop_first``); values not listed go to an ``"other"`` bucket
  (``other = true``) or count as missing (``other = false``).
- ``date``: text parsed with ``format`` (default ``"%b-%Y"``, e.g. ``"Dec-2011"``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hessian_common.errors import SchemaError
from hessian_common.format import format_number

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
"""Directory of the built-in schema files (``<name>.toml``)."""

COLUMN_TYPES = ("number", "percent", "months", "years", "categorical", "date")
NUMERIC_TYPES = ("number", "percent", "months", "years")
MISSING_RULES = ("median", "constant", "mode", "other", "category")
DERIVED_KINDS = ("years_between",)
BASES = ("spline", "bins", "woe")


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: how to parse it and, if it is a feature, how to preprocess it."""

    name: str
    type: str
    feature: bool = True
    required: bool = True
    missing: str = "median"
    fill: float | str | None = None
    clip: tuple[float, float] | None = None
    log: bool = False
    categories: tuple[str, ...] = ()
    other: bool = True
    drop_first: bool = True
    format: str = "%b-%Y"
    valid: tuple[float, float] | None = None
    """The values that are possible at all (numeric columns), ``[low, high]`` inclusive;
    a value outside is impossible data, handled by :attr:`invalid`. Not ``clip``: clipping
    tames real outliers before the preprocessing; ``valid`` catches what cannot be real."""
    invalid: str = "missing"
    """What a value outside :attr:`valid` does: ``"missing"`` (reported, then filled by the
    column's missing-value rule) or ``"exclude"`` (reported, the row is not used)."""
    blank: str = "missing"
    """What a blank cell does: ``"missing"`` (filled by the missing-value rule, not
    reported) or ``"exclude"`` (reported, the row is not used: the value is required)."""
    basis: str | None = None
    knots: int = 4
    bins: int = 5
    indicator: bool = False

    @property
    def numeric(self) -> bool:
        """True for the column types that parse to a number."""
        return self.type in NUMERIC_TYPES

    def rule_words(self) -> str:
        """What happens to an impossible or blank value of this column, in words (shown
        with the check's problems)."""
        parts = []
        if self.valid is not None:
            lo, hi = (_num(v) for v in self.valid)
            what = "the row is excluded" if self.invalid == "exclude" else self.fill_words()
            parts.append(f"valid {lo} to {hi}; outside that {what}")
        if self.blank == "exclude":
            parts.append("required: a blank cell excludes the row")
        return "; ".join(parts)

    def fill_words(self) -> str:
        """How a missing value of this column is filled, in words."""
        if self.missing == "constant":
            return f"it is treated as missing (filled with {_num(self.fill)})"
        if self.missing == "median":
            return "it is treated as missing (filled with the median of the lender's data)"
        if self.missing == "mode":
            return "it is treated as missing (filled with the most common value)"
        return "it is treated as missing"


@dataclass(frozen=True)
class DerivedSpec:
    """A numeric feature computed from parsed columns (e.g. credit history length)."""

    name: str
    kind: str
    start: str
    end: str
    missing: str = "median"
    fill: float | None = None
    clip: tuple[float, float] | None = None
    log: bool = False
    feature: bool = True
    type: str = "number"
    basis: str | None = None
    knots: int = 4
    bins: int = 5
    indicator: bool = False

    @property
    def numeric(self) -> bool:
        """Derived columns are always numeric."""
        return True


@dataclass(frozen=True)
class LabelSpec:
    """The label column and its mapping to 0 (good) / 1 (default), the rest excluded."""

    column: str
    negative: tuple[str, ...]
    positive: tuple[str, ...]
    unresolved: tuple[str, ...] = ()
    unresolved_prefixes: tuple[str, ...] = ()
    status_prefix: str | None = None


@dataclass(frozen=True)
class Schema:
    """A parsed schema file; see the module docstring for the file format."""

    name: str
    columns: tuple[ColumnSpec, ...]
    label: LabelSpec
    derived: tuple[DerivedSpec, ...] = ()
    leakage: tuple[str, ...] = ()
    non_loan_prefixes: tuple[str, ...] = ()
    id_column: str | None = None
    description: str = ""
    source: str = field(default="", compare=False)
    interactions: tuple[tuple[str, str], ...] = ()

    # -- views ---------------------------------------------------------------------------
    def column(self, name: str) -> ColumnSpec:
        """The spec of input column ``name`` (``KeyError`` if absent)."""
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def feature_specs(self) -> tuple[ColumnSpec | DerivedSpec, ...]:
        """Every feature, input columns first then derived ones, in file order."""
        return tuple(c for c in self.columns if c.feature) + tuple(
            d for d in self.derived if d.feature
        )

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """Names of the columns of ``LoadedData.features``."""
        return tuple(s.name for s in self.feature_specs)

    @property
    def input_columns(self) -> tuple[str, ...]:
        """Names of the CSV columns read (features, inputs of derived columns), not the label."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """CSV columns a file must have: the label and every required input column."""
        return (self.label.column, *(c.name for c in self.columns if c.required))

    # -- (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (goes into the model spec); ``Schema.from_dict`` reads it back."""
        out = asdict(self)
        out.pop("source", None)
        return _jsonable(out)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> Schema:
        """Build and validate a schema from a dict (a parsed TOML file or ``to_dict()``)."""
        return _parse_schema(data, source)


def builtin_schemas() -> list[str]:
    """Names of the schemas shipped with Hessian."""
    return sorted(p.stem for p in SCHEMA_DIR.glob("*.toml"))


def load_schema(name_or_path: str | Path | Schema = "lending_club") -> Schema:
    """Load a schema by built-in name (``"lending_club"``) or from a TOML file path.

    Raises
    ------
    SchemaError
        Unknown name, unreadable file, TOML syntax error, or an invalid entry (the message
        names the file and the entry).
    """
    if isinstance(name_or_path, Schema):
        return name_or_path
    text_name = str(name_or_path)
    builtin = SCHEMA_DIR / f"{text_name}.toml"
    path = builtin if ("/" not in text_name and builtin.is_file()) else Path(text_name)
    if not path.is_file():
        raise SchemaError(
            f"schema {text_name!r}: no such file and not a built-in schema "
            f"(built-in: {', '.join(builtin_schemas())})"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise SchemaError(f"schema file {path}: not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"schema file {path}: invalid TOML: {exc}") from None
    return _parse_schema(data, str(path))


# -- parsing and validation ----------------------------------------------------------------

_TOP_KEYS = {
    "name",
    "description",
    "columns",
    "derived",
    "label",
    "leakage",
    "non_loan_prefixes",
    "id_column",
    "interactions",
}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise SchemaError(f"{where}: expected a list of strings, got {value!r}")
    return tuple(value)


def _is_low_high(value: Any, finite: bool) -> bool:
    """``value`` is ``[low, high]``: two numbers (not booleans), finite if ``finite``, and not
    ``low > high`` (the shared check of ``clip`` and ``valid``)."""
    ok = (
        isinstance(value, list | tuple)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and (not finite or all(math.isfinite(v) for v in value))
    )
    return ok and not value[0] > value[1]


def _clip(value: Any, where: str) -> tuple[float, float] | None:
    if value is None:
        return None
    if not _is_low_high(value, finite=False):
        raise SchemaError(f"{where}: clip must be [low, high] numbers with low <= high")
    return (float(value[0]), float(value[1]))


def _num(value: Any) -> str:

    return format_number(value)


def _range(value: Any, where: str) -> tuple[float, float] | None:
    """A ``valid = [low, high]`` entry (finite numbers, low <= high)."""
    if value is None:
        return None
    if not _is_low_high(value, finite=True):
        raise SchemaError(f"{where}: valid must be [low, high] finite numbers with low <= high")
    return (float(value[0]), float(value[1]))


VALUE_RULES = ("missing", "exclude")
"""What an impossible (``invalid``) or blank (``blank``) value does."""


def _check_keys(entry: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise SchemaError(f"{where}: unknown key(s) {', '.join(unknown)}")


def _parse_column(entry: Any, where: str) -> ColumnSpec:
    if not isinstance(entry, dict):
        raise SchemaError(f"{where}: expected a table, got {entry!r}")
    allowed = {f for f in ColumnSpec.__dataclass_fields__}
    _check_keys(entry, allowed, where)
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SchemaError(f"{where}: 'name' is required (a non-empty string)")
    where = f"{where} ({name})"
    ctype = entry.get("type")
    if ctype not in COLUMN_TYPES:
        raise SchemaError(f"{where}: type must be one of {', '.join(COLUMN_TYPES)}, got {ctype!r}")
    missing = entry.get("missing", "mode" if ctype == "categorical" else "median")
    if missing not in MISSING_RULES:
        raise SchemaError(f"{where}: missing must be one of {', '.join(MISSING_RULES)}")
    numeric = ctype in NUMERIC_TYPES or ctype == "date"
    if numeric and missing in ("mode", "other", "category"):
        raise SchemaError(f"{where}: missing rule {missing!r} is for categorical columns")
    if ctype == "categorical" and missing == "median":
        raise SchemaError(f"{where}: missing rule 'median' is for numeric columns")
    fill = entry.get("fill")
    if missing == "constant" and fill is None:
        raise SchemaError(f"{where}: missing = 'constant' needs a 'fill' value")
    categories = _strs(entry.get("categories"), f"{where} categories")
    feature = bool(entry.get("feature", ctype != "date"))
    if ctype == "categorical" and feature and not categories:
        raise SchemaError(f"{where}: a categorical feature needs its fixed 'categories'")
    if len(set(categories)) != len(categories):
        raise SchemaError(f"{where}: duplicate categories")
    if ctype == "date" and feature:
        raise SchemaError(f"{where}: a date is not a feature itself; use a [[derived]] column")
    for flag in ("feature", "required", "log", "other", "drop_first"):
        if flag in entry and not isinstance(entry[flag], bool):
            raise SchemaError(f"{where}: {flag} must be true or false")
    fmt = entry.get("format", "%b-%Y")
    if not isinstance(fmt, str):
        raise SchemaError(f"{where}: format must be a string")
    valid = _range(entry.get("valid"), where)
    if valid is not None and ctype not in NUMERIC_TYPES:
        raise SchemaError(f"{where}: valid is for numeric columns, not {ctype}")
    for key in ("invalid", "blank"):
        if entry.get(key, "missing") not in VALUE_RULES:
            raise SchemaError(f"{where}: {key} must be one of {', '.join(VALUE_RULES)}")
    expansion = _parse_expansion(entry, where, ctype in NUMERIC_TYPES and feature)
    return ColumnSpec(
        name=name.strip(),
        type=ctype,
        feature=feature,
        required=bool(entry.get("required", True)),
        missing=missing,
        fill=fill,
        clip=_clip(entry.get("clip"), where),
        log=bool(entry.get("log", False)),
        categories=categories,
        other=bool(entry.get("other", True)),
        drop_first=bool(entry.get("drop_first", True)),
        format=fmt,
        valid=valid,
        invalid=str(entry.get("invalid", "missing")),
        blank=str(entry.get("blank", "missing")),
        **expansion,
    )


def _parse_derived(entry: Any, where: str, columns: dict[str, ColumnSpec]) -> DerivedSpec:
    if not isinstance(entry, dict):
        raise SchemaError(f"{where}: expected a table, got {entry!r}")
    _check_keys(entry, set(DerivedSpec.__dataclass_fields__), where)
    name = entry.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaError(f"{where}: 'name' is required")
    where = f"{where} ({name})"
    kind = entry.get("kind")
    if kind not in DERIVED_KINDS:
        raise SchemaError(f"{where}: kind must be one of {', '.join(DERIVED_KINDS)}")
    for key in ("start", "end"):
        ref = entry.get(key)
        if ref not in columns or columns[ref].type != "date":
            raise SchemaError(f"{where}: {key} must name a date column, got {ref!r}")
    missing = entry.get("missing", "median")
    if missing not in ("median", "constant"):
        raise SchemaError(f"{where}: missing must be 'median' or 'constant'")
    if missing == "constant" and entry.get("fill") is None:
        raise SchemaError(f"{where}: missing = 'constant' needs a 'fill' value")
    return DerivedSpec(
        name=name,
        kind=kind,
        start=entry["start"],
        end=entry["end"],
        missing=missing,
        fill=entry.get("fill"),
        clip=_clip(entry.get("clip"), where),
        log=bool(entry.get("log", False)),
        feature=bool(entry.get("feature", True)),
        **_parse_expansion(entry, where, bool(entry.get("feature", True))),
    )


def _parse_label(entry: Any, where: str) -> LabelSpec:
    if not isinstance(entry, dict):
        raise SchemaError(f"{where}: a [label] table is required")
    _check_keys(entry, {f for f in LabelSpec.__dataclass_fields__}, where)
    column = entry.get("column")
    if not isinstance(column, str) or not column:
        raise SchemaError(f"{where}: 'column' is required")
    negative = _strs(entry.get("negative"), f"{where} negative")
    positive = _strs(entry.get("positive"), f"{where} positive")
    if not negative or not positive:
        raise SchemaError(f"{where}: both 'negative' and 'positive' values are required")
    both = set(negative) & set(positive)
    if both:
        raise SchemaError(f"{where}: {sorted(both)} listed as both positive and negative")
    prefix = entry.get("status_prefix")
    if prefix is not None and not isinstance(prefix, str):
        raise SchemaError(f"{where}: status_prefix must be a string")
    return LabelSpec(
        column=column,
        negative=negative,
        positive=positive,
        unresolved=_strs(entry.get("unresolved"), f"{where} unresolved"),
        unresolved_prefixes=_strs(entry.get("unresolved_prefixes"), f"{where} unresolved_prefixes"),
        status_prefix=prefix,
    )


def _parse_schema(data: dict[str, Any], source: str) -> Schema:
    where = f"schema {source}"
    if not isinstance(data, dict):
        raise SchemaError(f"{where}: expected a table at the top level")
    _check_keys(data, _TOP_KEYS, where)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise SchemaError(f"{where}: 'name' is required")
    raw_columns = data.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise SchemaError(f"{where}: at least one [[columns]] entry is required")
    columns = tuple(_parse_column(c, f"{where}: columns[{i}]") for i, c in enumerate(raw_columns))
    by_name: dict[str, ColumnSpec] = {}
    for col in columns:
        if col.name in by_name:
            raise SchemaError(f"{where}: column {col.name!r} listed twice")
        by_name[col.name] = col
    derived = tuple(
        _parse_derived(d, f"{where}: derived[{i}]", by_name)
        for i, d in enumerate(data.get("derived") or [])
    )
    label = _parse_label(data.get("label"), f"{where}: [label]")
    leakage = _strs(data.get("leakage"), f"{where}: leakage")
    names = [c.name for c in columns] + [d.name for d in derived]
    if len(set(names)) != len(names):
        raise SchemaError(f"{where}: a derived column reuses an input column's name")
    if label.column in by_name:
        raise SchemaError(f"{where}: the label column {label.column!r} is also an input column")
    leaking = sorted(
        n for n in (c.name for c in columns if c.feature) if n in leakage or _is_leak(n, leakage)
    )
    if leaking:
        raise SchemaError(
            f"{where}: column(s) {', '.join(leaking)} are on the leakage list "
            "and can never be features"
        )
    if not any(c.feature for c in columns) and not any(d.feature for d in derived):
        raise SchemaError(f"{where}: no feature columns")
    id_column = data.get("id_column")
    if id_column is not None and not isinstance(id_column, str):
        raise SchemaError(f"{where}: id_column must be a string")
    numeric_features = {c.name for c in columns if c.feature and c.numeric} | {
        d.name for d in derived if d.feature
    }
    interactions = _parse_interactions(data.get("interactions"), where, numeric_features)
    return Schema(
        name=name,
        description=str(data.get("description", "")),
        columns=columns,
        derived=derived,
        label=label,
        leakage=leakage,
        non_loan_prefixes=_strs(data.get("non_loan_prefixes"), f"{where}: non_loan_prefixes"),
        id_column=id_column,
        source=source,
        interactions=interactions,
    )


def _parse_expansion(entry: dict[str, Any], where: str, numeric_feature: bool) -> dict[str, Any]:
    """``basis``, ``knots``, ``bins``, ``indicator`` of a column entry (module docstring)."""
    basis = entry.get("basis")
    knots, bins = entry.get("knots", 4), entry.get("bins", 5)
    indicator = entry.get("indicator", False)
    if basis is not None and basis not in BASES:
        raise SchemaError(f"{where}: basis must be one of {', '.join(BASES)}, got {basis!r}")
    if (basis is not None or indicator) and not numeric_feature:
        raise SchemaError(f"{where}: basis and indicator are for numeric feature columns")
    for key, value, lo, hi in (("knots", knots, 3, 7), ("bins", bins, 2, 20)):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise SchemaError(f"{where}: {key} must be a whole number from {lo} to {hi}")
    if not isinstance(indicator, bool):
        raise SchemaError(f"{where}: indicator must be true or false")
    return {"basis": basis, "knots": knots, "bins": bins, "indicator": indicator}


def _parse_interactions(value: Any, where: str, numeric: set[str]) -> tuple[tuple[str, str], ...]:
    """``interactions = [["a", "b"], ...]``: pairs of distinct numeric feature columns."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SchemaError(f"{where}: interactions must be a list of [column, column] pairs")
    out = []
    for pair in value:
        ok = isinstance(pair, list | tuple) and len(pair) == 2
        if not ok or not all(isinstance(c, str) for c in pair) or pair[0] == pair[1]:
            raise SchemaError(f"{where}: interaction {pair!r} is not a pair of two columns")
        unknown = [c for c in pair if c not in numeric]
        if unknown:
            raise SchemaError(
                f"{where}: interaction {list(pair)}: {', '.join(unknown)} is not a numeric feature"
            )
        out.append((pair[0], pair[1]))
    if len(set(out)) != len(out):
        raise SchemaError(f"{where}: an interaction is listed twice")
    return tuple(out)


def _is_leak(name: str, leakage: tuple[str, ...]) -> bool:
    """Leakage entries ending in ``*`` are prefixes (``hardship_*``)."""
    return any(p.endswith("*") and name.startswith(p[:-1]) for p in leakage)


def is_leakage(schema: Schema, name: str) -> bool:
    """True if column ``name`` is on the schema's leakage list (prefix entries end in ``*``)."""
    return name in schema.leakage or _is_leak(name, schema.leakage)
