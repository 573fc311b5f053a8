"""Preprocessing fitted by the lender, serialised into the model spec, applied by owners.

For each numeric feature ``x`` (in schema order)::

    x1 = x, or its fill value where missing     fill = median of the fit data, or the
                                                 schema's constant
    x2 = min(max(x1, low), high)                 clip, if the schema gives [low, high]
    x3 = log(1 + max(x2, 0))                     if the schema says log = true
    z  = (x3 - mean) / std                       mean, std of x3 on the fit data (std 0 -> 1)

For each categorical feature, a value is mapped to one of the fixed ``categories``, to
``"other"`` (values not listed, when the schema allows an other bucket), or, when missing, to
the column's missing rule (``mode``: the most common level of the fit data; ``other``; or
``category``: a level of its own, ``"missing"``). It is then one-hot encoded over the fixed
levels, the first level being the reference (no column) when ``drop_first``.

The design matrix is ``X = [1, z_1 .. z_p, onehots..., expansions...]`` of shape (n, d): the
first column is the intercept. Expansions are the schema's basis expansions of numeric
columns, fitted on the lender's data (:mod:`hessian_common.data.basis`: spline terms
``name:s1 ..``, quantile bins ``name:bin1 ..``, weight of evidence ``name:woe``, missing
indicators ``name:missing``) and its interactions (``a*b``), in schema order after the
one-hot columns, so the plain columns keep their places. Everything learned is plain JSON
(``to_dict``; version 2 when there are expansions), so an owner and the deployed credit model
apply exactly the lender's transform
(``Preprocessor.from_dict(spec["preprocessing"]).transform(features)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hessian_common.data import basis
from hessian_common.data.schema import ColumnSpec, DerivedSpec, Schema, is_leakage, load_schema
from hessian_common.errors import DataError, SchemaError

FORMAT_VERSION = 1
"""Version of a state without expansions (the same bytes as before they existed)."""
EXPANSION_VERSION = 2
"""Version of a state with basis expansions or interactions (older readers refuse it)."""
OTHER = "other"
MISSING = "missing"


class Preprocessor:
    """Standardisation, fixed one-hot categories and missing-value rules from a schema.

    scikit-learn contract: ``__init__`` only stores, :meth:`fit` learns and returns ``self``,
    learned state ends in ``_``, :meth:`transform` refuses to run before ``fit``.

    Parameters
    ----------
    schema : Schema, built-in name or TOML path
        Which columns are features and how each is treated.
    """

    def __init__(self, schema: Schema | str = "lending_club"):
        self.schema = schema

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, features: pd.DataFrame, y: Any = None) -> Preprocessor:
        """Learn fill values, means, standard deviations, levels and expansions.

        Parameters
        ----------
        features : DataFrame of shape (n_samples, n_feature_columns)
            ``LoadedData.features`` of the lender's own data (n_samples >= 1).
        y : ndarray of shape (n_samples,), optional
            The lender's labels; needed only by weight-of-evidence expansions.
        """
        schema = load_schema(self.schema)
        leaking = [c for c in schema.feature_columns if is_leakage(schema, c)]
        if leaking:  # a Schema built in code skips the file check: refuse here too
            raise SchemaError(
                f"schema {schema.name}: column(s) {', '.join(leaking)} are on the leakage list "
                "and can never be features"
            )
        self._check_columns(features, schema)
        if len(features) == 0:
            raise DataError("cannot fit the preprocessing on zero rows")
        numeric: list[dict[str, Any]] = []
        categorical: list[dict[str, Any]] = []
        for spec in schema.feature_specs:
            col = features[spec.name]
            if spec.numeric:
                numeric.append(self._fit_numeric(spec, col))
            else:
                categorical.append(self._fit_categorical(spec, col))
        self.schema_ = schema
        self.numeric_ = numeric
        self.categorical_ = categorical
        self.expansions_, self.interactions_ = self._fit_expansions(schema, features, y)
        self.feature_names_ = _names(numeric, categorical, self.expansions_, self.interactions_)
        self.n_features_ = len(self.feature_names_)
        self.n_samples_fit_ = len(features)
        return self

    def _fit_expansions(
        self, schema: Schema, features: pd.DataFrame, y: Any
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """The schema's basis expansions and interactions, fitted on ``features`` (and y)."""
        stages = {e["name"]: self._stages(e, features) for e in self.numeric_}
        expansions: list[dict[str, Any]] = []
        for spec in schema.feature_specs:
            if not spec.numeric:
                continue
            v = stages[spec.name][1]
            if spec.basis == "spline":
                t = basis.spline_knots(v, spec.knots)
                if t:
                    terms = basis.spline_terms(v, t)
                    ms = [basis.standardise(terms[:, j]) for j in range(terms.shape[1])]
                    expansions.append(
                        {"name": spec.name, "kind": "spline", "knots": t,
                         "mean": [m for m, _ in ms], "std": [sd for _, sd in ms]}
                    )  # fmt: skip
            elif spec.basis == "bins":
                cuts = basis.bin_cuts(v, spec.bins)
                if cuts:
                    expansions.append({"name": spec.name, "kind": "bins", "cuts": cuts})
            elif spec.basis == "woe":
                if y is None:
                    raise DataError(
                        f"column {spec.name}: a weight-of-evidence expansion is fitted on the "
                        "lender's labels; pass y to fit"
                    )
                cuts = basis.bin_cuts(v, spec.bins)
                if cuts:
                    woe = basis.woe_values(v, y, cuts)
                    mean, std = basis.standardise(basis.woe_column(v, cuts, woe))
                    expansions.append(
                        {"name": spec.name, "kind": "woe", "cuts": cuts, "woe": woe,
                         "mean": [mean], "std": [std]}
                    )  # fmt: skip
            if spec.indicator:
                expansions.append({"name": spec.name, "kind": "missing"})
        interactions = []
        for a, b in schema.interactions:
            mean, std = basis.standardise(stages[a][2] * stages[b][2])
            interactions.append({"a": a, "b": b, "mean": mean, "std": std})
        return expansions, interactions

    def _stages(
        self, entry: dict[str, Any], features: pd.DataFrame
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(raw, v, z)`` of a numeric column: parsed (NaN where missing), filled/clipped/
        logged, standardised."""
        raw = pd.to_numeric(features[entry["name"]], errors="coerce").to_numpy(dtype=float)
        v = _numeric_stage(raw, entry)
        return raw, v, (v - entry["mean"]) / entry["std"]

    @staticmethod
    def _fit_numeric(spec: ColumnSpec | DerivedSpec, col: pd.Series) -> dict[str, Any]:
        x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        if spec.missing == "constant":
            fill = float(spec.fill)  # type: ignore[arg-type]
        else:
            fill = float(np.nanmedian(x)) if np.isfinite(x).any() else 0.0
        entry = {
            "name": spec.name,
            "fill": fill,
            "clip": list(spec.clip) if spec.clip else None,
            "log": bool(spec.log),
            "mean": 0.0,
            "std": 1.0,
        }
        z = _numeric_stage(x, entry)
        mean = float(z.mean())
        std = float(z.std())
        entry["mean"] = mean
        entry["std"] = std if std > 1e-12 else 1.0
        return entry

    @staticmethod
    def _fit_categorical(spec: ColumnSpec | DerivedSpec, col: pd.Series) -> dict[str, Any]:
        if not isinstance(spec, ColumnSpec):
            raise SchemaError(f"column {spec.name}: derived columns are numeric")
        levels = list(spec.categories)
        if spec.other:
            levels.append(OTHER)
        if spec.missing == "category":
            levels.append(MISSING)
        elif spec.missing == "other" and OTHER not in levels:
            levels.append(OTHER)
        entry = {"name": spec.name, "levels": levels, "other": bool(spec.other), "fill": None}
        mapped = _map_levels(col, entry, fill_missing=False)
        if spec.missing == "mode":
            counts = mapped.value_counts()
            entry["fill"] = str(counts.index[0]) if len(counts) else levels[0]
        elif spec.missing == "other":
            entry["fill"] = OTHER
        else:
            entry["fill"] = MISSING
        entry["columns"] = levels[1:] if spec.drop_first else list(levels)
        return entry

    # -- transforming ----------------------------------------------------------------------
    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """The design matrix ``X`` of shape (n_samples, n_features_), first column ones."""
        self._check_fitted()
        self._check_columns(features, self.schema_)
        n = len(features)
        blocks = [np.ones((n, 1))]
        stages = {}
        for entry in self.numeric_:
            stages[entry["name"]] = self._stages(entry, features)
            blocks.append(stages[entry["name"]][2].reshape(n, 1))
        for entry in self.categorical_:
            mapped = _map_levels(features[entry["name"]], entry, fill_missing=True).to_numpy()
            cols = np.asarray(entry["columns"], dtype=object)
            blocks.append((mapped[:, None] == cols[None, :]).astype(float))
        for e in self.expansions_:
            raw, v, _ = stages[e["name"]]
            if e["kind"] == "spline":
                terms = basis.spline_terms(v, e["knots"])
                cols = (terms - np.asarray(e["mean"])) / np.asarray(e["std"])
            elif e["kind"] == "bins":
                cols = basis.bin_columns(v, e["cuts"])
            elif e["kind"] == "woe":
                col = basis.woe_column(v, e["cuts"], e["woe"])
                cols = ((col - e["mean"][0]) / e["std"][0]).reshape(n, 1)
            else:  # missing indicator
                cols = (~np.isfinite(raw)).astype(float).reshape(n, 1)
            blocks.append(cols.reshape(n, -1))
        for e in self.interactions_:
            col = stages[e["a"]][2] * stages[e["b"]][2]
            blocks.append(((col - e["mean"]) / e["std"]).reshape(n, 1))
        return np.hstack(blocks)

    def fit_transform(self, features: pd.DataFrame, y: Any = None) -> np.ndarray:
        """``fit(features, y).transform(features)``."""
        return self.fit(features, y).transform(features)

    def plain(self) -> Preprocessor:
        """The same fitted preprocessing without its expansions (the plain columns only)."""
        self._check_fitted()
        out = Preprocessor.from_dict(self.to_dict())
        out.expansions_, out.interactions_ = [], []
        out.feature_names_ = _names(out.numeric_, out.categorical_, [], [])
        out.n_features_ = len(out.feature_names_)
        return out

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (schema included) for the model spec."""
        self._check_fitted()
        out = {
            "format": "hessian-preprocessing",
            "version": FORMAT_VERSION,
            "schema": self.schema_.to_dict(),
            "numeric": [dict(e) for e in self.numeric_],
            "categorical": [dict(e) for e in self.categorical_],
            "feature_names": list(self.feature_names_),
            "n_samples_fit": self.n_samples_fit_,
        }
        if self.expansions_ or self.interactions_:
            out["version"] = EXPANSION_VERSION
            out["expansions"] = [dict(e) for e in self.expansions_]
            out["interactions"] = [dict(e) for e in self.interactions_]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_dict` output.

        Raises
        ------
        SchemaError
            The dict is not a preprocessing state of a known version, or is inconsistent.
        """
        if not isinstance(data, dict) or data.get("format") != "hessian-preprocessing":
            raise SchemaError("preprocessing: not a hessian-preprocessing object")
        if data.get("version") not in (FORMAT_VERSION, EXPANSION_VERSION):
            raise SchemaError(f"preprocessing: unsupported version {data.get('version')!r}")
        try:
            schema = Schema.from_dict(data["schema"], source="<model spec>")
            numeric = [
                {
                    "name": str(e["name"]),
                    "fill": float(e["fill"]),
                    "clip": [float(v) for v in e["clip"]] if e["clip"] else None,
                    "log": bool(e["log"]),
                    "mean": float(e["mean"]),
                    "std": float(e["std"]),
                }
                for e in data["numeric"]
            ]
            categorical = [
                {
                    "name": str(e["name"]),
                    "levels": [str(v) for v in e["levels"]],
                    "other": bool(e["other"]),
                    "fill": str(e["fill"]),
                    "columns": [str(v) for v in e["columns"]],
                }
                for e in data["categorical"]
            ]
            names = [str(v) for v in data["feature_names"]]
            n_fit = int(data.get("n_samples_fit", 0))
            expansions = [_read_expansion(e) for e in data.get("expansions", [])]
            interactions = [
                {"a": str(e["a"]), "b": str(e["b"]), "mean": float(e["mean"]),
                 "std": float(e["std"])}
                for e in data.get("interactions", [])
            ]  # fmt: skip
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"preprocessing: malformed state ({exc!r})") from None
        expected = _names(numeric, categorical, expansions, interactions)
        known = {e["name"] for e in numeric}
        used = {e["name"] for e in expansions} | {e[k] for e in interactions for k in "ab"}
        if names != expected or any(e["std"] <= 0 for e in numeric) or not used <= known:
            raise SchemaError("preprocessing: feature names do not match the stored columns")
        obj = cls(schema)
        obj.schema_ = schema
        obj.numeric_ = numeric
        obj.categorical_ = categorical
        obj.expansions_ = expansions
        obj.interactions_ = interactions
        obj.feature_names_ = names
        obj.n_features_ = len(names)
        obj.n_samples_fit_ = n_fit
        return obj

    # -- checks ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "numeric_"):
            raise DataError("this Preprocessor is not fitted yet; call fit(features) first")

    @staticmethod
    def _check_columns(features: pd.DataFrame, schema: Schema) -> None:
        if not isinstance(features, pd.DataFrame):
            raise DataError(f"expected a pandas DataFrame of features, got {type(features)}")
        missing = [c for c in schema.feature_columns if c not in features.columns]
        if missing:
            raise DataError(
                f"features lack column(s) {', '.join(missing)} of schema {schema.name!r}"
            )

    def __repr__(self) -> str:
        name = self.schema.name if isinstance(self.schema, Schema) else self.schema
        fitted = f", d={self.n_features_}" if hasattr(self, "n_features_") else ""
        return f"Preprocessor({name!r}{fitted})"


def _expansion_names(e: dict[str, Any]) -> list[str]:
    name, kind = e["name"], e["kind"]
    if kind == "spline":
        return [f"{name}:s{j + 1}" for j in range(len(e["knots"]) - 2)]
    if kind == "bins":
        return [f"{name}:bin{k + 1}" for k in range(len(e["cuts"]))]
    return [f"{name}:{kind}"]  # woe, missing


def _names(
    numeric: list[dict[str, Any]],
    categorical: list[dict[str, Any]],
    expansions: list[dict[str, Any]],
    interactions: list[dict[str, Any]],
) -> list[str]:
    """The design matrix's column names (module docstring)."""
    names = ["intercept"] + [n["name"] for n in numeric]
    for c in categorical:
        names += [f"{c['name']}={lvl}" for lvl in c["columns"]]
    for e in expansions:
        names += _expansion_names(e)
    names += [f"{e['a']}*{e['b']}" for e in interactions]
    return names


def _floats(values: Any) -> list[float]:
    out = [float(v) for v in values]
    if not all(np.isfinite(out)):
        raise ValueError("non-finite value")
    return out


def _read_expansion(e: dict[str, Any]) -> dict[str, Any]:
    """One stored expansion, checked (ValueError / KeyError / TypeError when malformed)."""
    kind = str(e["kind"])
    out: dict[str, Any] = {"name": str(e["name"]), "kind": kind}
    if kind == "spline":
        out["knots"] = _floats(e["knots"])
        out["mean"], out["std"] = _floats(e["mean"]), _floats(e["std"])
        width = len(out["knots"]) - 2
        if width < 1 or len(out["mean"]) != width or len(out["std"]) != width:
            raise ValueError("spline knots and standardisation do not match")
        if out["knots"] != sorted(set(out["knots"])):
            raise ValueError("spline knots must increase")
    elif kind in ("bins", "woe"):
        out["cuts"] = _floats(e["cuts"])
        if not out["cuts"] or out["cuts"] != sorted(set(out["cuts"])):
            raise ValueError("bin cuts must increase")
        if kind == "woe":
            out["woe"] = _floats(e["woe"])
            out["mean"], out["std"] = _floats(e["mean"]), _floats(e["std"])
            if len(out["woe"]) != len(out["cuts"]) + 1 or len(out["std"]) != 1:
                raise ValueError("weight of evidence does not match the bins")
    elif kind != "missing":
        raise ValueError(f"unknown expansion {kind!r}")
    if any(sd <= 0 for sd in out.get("std", [])):
        raise ValueError("non-positive standard deviation")
    return out


def _numeric_stage(x: np.ndarray, entry: dict[str, Any]) -> np.ndarray:
    """Fill, clip and log (everything before the standardisation)."""
    z = np.where(np.isfinite(x), x, entry["fill"])
    if entry["clip"]:
        z = np.clip(z, entry["clip"][0], entry["clip"][1])
    if entry["log"]:
        z = np.log1p(np.maximum(z, 0.0))
    return z


def _map_levels(col: pd.Series, entry: dict[str, Any], fill_missing: bool) -> pd.Series:
    """Text values -> one of the fixed levels; unknown -> other (or missing), missing -> fill."""
    s = col.astype(object).where(col.notna(), None)
    s = s.map(lambda v: None if v is None else str(v).strip() or None)
    listed = [lvl for lvl in entry["levels"] if lvl not in (OTHER, MISSING)]
    known = s.isin(listed)
    unknown = s.notna() & ~known
    s = s.where(~unknown, OTHER if entry["other"] else None)
    if fill_missing:
        s = s.where(s.notna(), entry["fill"])
    return s
