"""Basis expansions: the maths, fitted by the lender, applied identically by owners."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hessian_common.data import basis
from hessian_common.data.preprocess import Preprocessor
from hessian_common.data.schema import Schema, load_schema
from hessian_common.errors import DataError, SchemaError

EXPANDED = [
    "emp_length:missing",
    "annual_inc:s1", "annual_inc:s2", "dti:s1", "dti:s2",
    "fico_range_low:s1", "fico_range_low:s2", "revol_util:s1", "revol_util:s2",
]  # fmt: skip
"""The built-in schema's expansions, in order, after the plain columns."""


def _schema_with(**per_column) -> Schema:
    """The built-in schema with other expansions: ``column={"basis": ...}`` (None: none)."""
    d = load_schema("lending_club").to_dict()
    for col in d["columns"]:
        col.update(basis=None, indicator=False)
        col.update(per_column.get(col["name"], {}))
    return Schema.from_dict(d)


def test_restricted_cubic_spline_is_linear_beyond_the_outer_knots_and_smooth():
    t = [1.0, 2.0, 4.0, 7.0]
    v = np.linspace(-5, 15, 4001)
    f = basis.spline_terms(v, t)
    assert f.shape == (4001, 2)
    for j in range(2):
        left, right = f[v <= 1.0, j], f[v >= 7.0, j]
        np.testing.assert_allclose(left, 0.0, atol=1e-12)  # zero below the first knot
        slope = np.diff(right) / np.diff(v[v >= 7.0])
        np.testing.assert_allclose(slope, slope[0], rtol=1e-9)  # linear above the last
        d2 = np.diff(f[:, j], 2)
        assert np.max(np.abs(np.diff(d2))) < 1e-4  # continuous second derivative
    # Harrell's formula for the first term at v = 5.
    x = 5.0
    expect = ((x - 1) ** 3 - (x - 4) ** 3 * (7 - 1) / (7 - 4)) / (7 - 1) ** 2
    assert basis.spline_terms(np.array([x]), t)[0, 0] == pytest.approx(expect)


def test_knots_bins_and_woe():
    v = np.arange(1000.0)
    assert basis.spline_knots(v, 4) == [50.0, 350.0, 649.0, 949.0]  # observed values
    assert basis.spline_knots(np.array([0.0, 0, 0, 1, 1]), 4) == []  # too few distinct values
    cuts = basis.bin_cuts(v, 4)
    assert cuts == pytest.approx([249.75, 499.5, 749.25])
    cols = basis.bin_columns(np.array([0.0, 300.0, 999.0]), cuts)
    assert cols.tolist() == [[0, 0, 0], [1, 0, 0], [0, 0, 1]]
    y = (v > 700).astype(float)
    woe = basis.woe_values(v, y, cuts)
    assert woe[0] < 0 < woe[-1] and all(np.isfinite(woe))  # empty cells smoothed
    with pytest.raises(DataError, match="labels"):
        basis.woe_values(v, y[:10], cuts)
    with pytest.raises(DataError, match="3 to 7 knots"):
        basis.spline_knots(v, 9)


def test_builtin_schema_expansions_fitted_on_the_lender_and_serialised(
    fitted_preprocessor, loaded_split
):
    pp = fitted_preprocessor
    plain = pp.plain()
    assert pp.feature_names_[: plain.n_features_] == plain.feature_names_  # plain columns first
    assert pp.feature_names_[plain.n_features_ :] == EXPANDED
    assert pp.n_features_ == 41 and plain.n_features_ == 32
    seed = loaded_split["seed"].features
    fico = next(e for e in pp.expansions_ if e["name"] == "fico_range_low")
    v = np.clip(seed["fico_range_low"].fillna(seed["fico_range_low"].median()), 600, 850)
    assert fico["knots"] == pytest.approx(basis.spline_knots(v.to_numpy(), 4))  # lender's data
    X = pp.transform(seed)
    spline = X[:, pp.feature_names_.index("fico_range_low:s1")]
    assert spline.mean() == pytest.approx(0, abs=1e-9) and spline.std() == pytest.approx(1)
    # The JSON state (what the model spec carries) gives owners the identical transform.
    state = json.loads(json.dumps(pp.to_dict()))
    assert state["version"] == 2 and len(state["expansions"]) == 5
    owner = Preprocessor.from_dict(state)
    feats = loaded_split["owners"][2].features
    assert np.array_equal(owner.transform(feats), pp.transform(feats))
    assert owner.to_dict() == state
    assert plain.to_dict()["version"] == 1 and "expansions" not in plain.to_dict()


def test_missing_values_and_unknown_categories_through_the_expansions(fitted_preprocessor):
    pp = fitted_preprocessor
    schema = load_schema("lending_club")
    feats = pd.DataFrame({c: [np.nan] * 3 for c in schema.feature_columns})
    feats["emp_length"] = [np.nan, 0.0, 10.0]  # "n/a" (missing) vs "< 1 year" (0)
    feats["fico_range_low"] = [np.nan, 500.0, 900.0]  # missing; clipped at both ends
    feats["revol_util"] = [np.nan, 120.0, 5.0]
    feats["home_ownership"] = ["NONE", None, "unheard-of"]
    feats["purpose"] = ["debt_consolidation", "xyz", None]
    feats["grade"] = ["B", "Q", None]
    feats["verification_status"] = ["Verified", None, "Verified"]
    X = pp.transform(feats)
    assert np.isfinite(X).all() and X.shape == (3, 41)
    col = {n: X[:, i] for i, n in enumerate(pp.feature_names_)}
    assert col["emp_length:missing"].tolist() == [1.0, 0.0, 0.0]
    assert col["emp_length"][0] == col["emp_length"][1]  # both fill to 0 years
    fico = next(e for e in pp.numeric_ if e["name"] == "fico_range_low")
    at_fill = pp.transform(feats.assign(fico_range_low=[fico["fill"]] * 3))
    i = pp.feature_names_.index("fico_range_low:s1")
    assert X[0, i] == at_fill[0, i]  # missing: the fill value's spline terms
    low = pp.transform(feats.assign(fico_range_low=[600.0] * 3))
    assert X[1, i] == low[1, i]  # 500 is clipped to 600 first
    assert col["home_ownership=other"].tolist() == [1.0, 1.0, 1.0]


def test_bins_woe_indicators_and_interactions_from_a_schema(loaded_split):
    schema = _schema_with(
        dti={"basis": "bins", "bins": 4, "indicator": True},
        annual_inc={"basis": "woe", "bins": 6},
        fico_range_low={"basis": "spline", "knots": 3},
    )
    d = schema.to_dict()
    d["interactions"] = [["term", "int_rate"]]
    schema = Schema.from_dict(d)
    seed = loaded_split["seed"]
    with pytest.raises(DataError, match=r"weight-of-evidence.*pass y"):
        Preprocessor(schema).fit(seed.features)
    pp = Preprocessor(schema).fit(seed.features, seed.y)
    names = pp.feature_names_[32:]
    assert names == [
        "annual_inc:woe", "dti:bin1", "dti:bin2", "dti:bin3", "dti:missing",
        "fico_range_low:s1", "term*int_rate",
    ]  # fmt: skip
    X = pp.transform(seed.features)
    bins = X[:, [pp.feature_names_.index(f"dti:bin{k}") for k in (1, 2, 3)]]
    assert set(np.unique(bins)) <= {0.0, 1.0} and bins.sum(axis=1).max() <= 1
    woe = X[:, pp.feature_names_.index("annual_inc:woe")]
    assert woe.mean() == pytest.approx(0, abs=1e-9)
    # the WoE column ranks defaults above repayments on the lender's own rows
    assert woe[seed.y == 1].mean() > woe[seed.y == 0].mean()
    inter = X[:, pp.feature_names_.index("term*int_rate")]
    raw = X[:, pp.feature_names_.index("term")] * X[:, pp.feature_names_.index("int_rate")]
    assert np.corrcoef(inter, raw)[0, 1] == pytest.approx(1.0)
    again = Preprocessor.from_dict(json.loads(json.dumps(pp.to_dict())))
    other = loaded_split["owners"][0].features
    assert np.array_equal(again.transform(other), pp.transform(other))


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"basis": "polynomial"}, "basis must be one of"),
        ({"basis": "spline", "knots": 9}, "knots must be"),
        ({"basis": "bins", "bins": 1}, "bins must be"),
        ({"indicator": "yes"}, "indicator must be"),
    ],
)
def test_bad_expansions_in_a_schema_are_named(entry, message):
    d = load_schema("lending_club").to_dict()
    next(c for c in d["columns"] if c["name"] == "dti").update(entry)
    with pytest.raises(SchemaError, match=message):
        Schema.from_dict(d)
    d = load_schema("lending_club").to_dict()
    next(c for c in d["columns"] if c["name"] == "grade").update(basis="spline")
    with pytest.raises(SchemaError, match="numeric feature columns"):
        Schema.from_dict(d)
    for pairs, why in (([["dti", "grade"]], "not a numeric feature"), ([["dti"]], "pair")):
        d = load_schema("lending_club").to_dict()
        d["interactions"] = pairs
        with pytest.raises(SchemaError, match=why):
            Schema.from_dict(d)


def test_tampered_expansions_are_refused(fitted_preprocessor):
    state = fitted_preprocessor.to_dict()
    state["expansions"][1]["knots"] = state["expansions"][1]["knots"][::-1]
    with pytest.raises(SchemaError, match="malformed"):
        Preprocessor.from_dict(state)
    state = fitted_preprocessor.to_dict()
    state["expansions"][0]["name"] = "no_such_column"
    with pytest.raises(SchemaError, match="feature names"):
        Preprocessor.from_dict(state)
    state = fitted_preprocessor.to_dict()
    state["version"] = 3
    with pytest.raises(SchemaError, match="version"):
        Preprocessor.from_dict(state)


def test_model_spec_round_trip_keeps_the_expansion(fitted_preprocessor, loaded_split):
    """The spec an owner downloads transforms its rows as the lender's preprocessing does."""
    from hessian_common.crypto import encrypt_vector, generate_keypair
    from hessian_common.learning.spec import ModelSpec

    pp = fitted_preprocessor
    pk, _ = generate_keypair(256)
    spec = ModelSpec(
        name="m", schema_name="lending_club", schema=pp.schema_.to_dict(),
        preprocessing=pp.to_dict(), public_key=pk,
        weights=encrypt_vector(pk, np.zeros(pp.n_features_)),
        feature_names=list(pp.feature_names_), rule="newton",
    )  # fmt: skip
    again = ModelSpec.from_bytes(spec.to_bytes())
    owner = Preprocessor.from_dict(again.preprocessing)
    feats = loaded_split["owners"][3].features
    assert np.array_equal(owner.transform(feats), pp.transform(feats))
    assert owner.feature_names_ == again.feature_names
