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

The design matrix is ``X = [1, z_1 .. z_p, onehots...]`` of shape (n, d): the first column is
the intercept. Everything learned is plain JSON (``to_dict``), so an owner applies exactly the
lender's transform (``Preprocessor.from_dict(spec["preprocessing"]).transform(features)``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hessian_common.data.schema import ColumnSpec, DerivedSpec, Schema, load_schema
from hessian_common.errors import DataError, SchemaError

FORMAT_VERSION = 1
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
    def fit(self, features: pd.DataFrame) -> Preprocessor:
        """Learn fill values, means, standard deviations and levels from ``features``.

        Parameters
        ----------
        features : DataFrame of shape (n_samples, n_feature_columns)
            ``LoadedData.features`` of the lender's own data (n_samples >= 1).
        """
        schema = load_schema(self.schema)
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
        names = ["intercept"] + [n["name"] for n in numeric]
        for c in categorical:
            names += [f"{c['name']}={lvl}" for lvl in c["columns"]]
        self.feature_names_ = names
        self.n_features_ = len(names)
        self.n_samples_fit_ = len(features)
        return self

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
        for entry in self.numeric_:
            x = pd.to_numeric(features[entry["name"]], errors="coerce").to_numpy(dtype=float)
            z = (_numeric_stage(x, entry) - entry["mean"]) / entry["std"]
            blocks.append(z.reshape(n, 1))
        for entry in self.categorical_:
            mapped = _map_levels(features[entry["name"]], entry, fill_missing=True).to_numpy()
            cols = np.asarray(entry["columns"], dtype=object)
            blocks.append((mapped[:, None] == cols[None, :]).astype(float))
        return np.hstack(blocks)

    def fit_transform(self, features: pd.DataFrame) -> np.ndarray:
        """``fit(features).transform(features)``."""
        return self.fit(features).transform(features)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state (schema included) for the model spec."""
        self._check_fitted()
        return {
            "format": "hessian-preprocessing",
            "version": FORMAT_VERSION,
            "schema": self.schema_.to_dict(),
            "numeric": [dict(e) for e in self.numeric_],
            "categorical": [dict(e) for e in self.categorical_],
            "feature_names": list(self.feature_names_),
            "n_samples_fit": self.n_samples_fit_,
        }

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
        if data.get("version") != FORMAT_VERSION:
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
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaError(f"preprocessing: malformed state ({exc!r})") from None
        expected = ["intercept"] + [e["name"] for e in numeric]
        for c in categorical:
            expected += [f"{c['name']}={lvl}" for lvl in c["columns"]]
        if names != expected or any(e["std"] <= 0 for e in numeric):
            raise SchemaError("preprocessing: feature names do not match the stored columns")
        obj = cls(schema)
        obj.schema_ = schema
        obj.numeric_ = numeric
        obj.categorical_ = categorical
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
