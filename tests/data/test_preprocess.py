"""Preprocessor: the sklearn contract, the maths, JSON round-trip gives the identical transform."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from hessian_common.data.preprocess import Preprocessor
from hessian_common.errors import DataError, SchemaError


def test_design_matrix_shape_intercept_and_names(fitted_preprocessor, loaded_split):
    pp = fitted_preprocessor
    X = pp.transform(loaded_split["holdout"].features)
    assert X.shape == (loaded_split["holdout"].rows, pp.n_features_)
    assert pp.n_features_ == 41  # 32 plain columns + 9 expansions: the crypto cost is d^2
    assert pp.plain().n_features_ == 32
    assert pp.feature_names_[0] == "intercept"
    assert np.all(X[:, 0] == 1.0)
    assert np.isfinite(X).all()
    assert "grade=A" not in pp.feature_names_  # reference level
    assert "grade=B" in pp.feature_names_
    assert not any(n.startswith("addr_state") for n in pp.feature_names_)


def test_standardised_on_the_fit_data(fitted_preprocessor, loaded_split):
    pp = fitted_preprocessor
    X = pp.transform(loaded_split["seed"].features)
    n_num = len(pp.numeric_)
    num = X[:, 1 : 1 + n_num]
    assert np.allclose(num.mean(axis=0), 0.0, atol=1e-9)
    assert np.allclose(num.std(axis=0), 1.0, atol=1e-9)
    onehot = X[:, 1 + n_num : pp.plain().n_features_]
    assert set(np.unique(onehot)) <= {0.0, 1.0}


def test_numeric_rule_fill_clip_log_then_standardise():
    from hessian_common.data.schema import load_schema

    schema = load_schema("lending_club")
    feats = pd.DataFrame({c: [np.nan] * 4 for c in schema.feature_columns})
    feats["annual_inc"] = [10_000.0, 50_000.0, 110_000_000.0, np.nan]
    for c in ("grade", "home_ownership", "purpose", "verification_status"):
        feats[c] = ["A", "B", "C", None] if c == "grade" else [None] * 4
    feats["verification_status"] = "Verified"
    pp = Preprocessor(schema).fit(feats)
    inc = next(e for e in pp.numeric_ if e["name"] == "annual_inc")
    assert inc["fill"] == 50_000.0  # median of the observed values
    z = np.log1p(np.array([10_000.0, 50_000.0, 1_000_000.0, 50_000.0]))  # clipped at 1M
    col = pp.feature_names_.index("annual_inc")
    X = pp.transform(feats)
    assert np.allclose(X[:, col], (z - z.mean()) / z.std())
    # emp_length all missing -> the schema's constant 0 -> zero variance -> std 1
    emp = next(e for e in pp.numeric_ if e["name"] == "emp_length")
    assert emp["fill"] == 0.0 and emp["std"] == 1.0


def test_categorical_rules_other_bucket_mode_and_unknowns(fitted_preprocessor):
    pp = fitted_preprocessor
    names = pp.feature_names_
    from hessian_common.data.schema import load_schema

    schema = load_schema("lending_club")
    feats = pd.DataFrame({c: [np.nan] * 3 for c in schema.feature_columns})
    feats["home_ownership"] = ["NONE", None, "OWN"]  # unknown -> other; missing -> other
    feats["purpose"] = ["wedding", "credit_card", None]
    feats["grade"] = ["G", None, "Q"]  # missing / not a grade -> the most common grade
    feats["verification_status"] = ["Verified", None, "Verified"]
    X = pp.transform(feats)
    col = {n: X[:, i] for i, n in enumerate(names)}
    assert col["home_ownership=other"].tolist() == [1, 1, 0]
    assert col["home_ownership=OWN"].tolist() == [0, 0, 1]
    assert col["purpose=other"].tolist() == [1, 0, 1]
    assert col["grade=G"].tolist() == [1, 0, 0]
    mode = next(e for e in pp.categorical_ if e["name"] == "grade")["fill"]
    assert mode == "B"
    assert col["grade=B"].tolist() == [0, 1, 1]


def test_to_dict_from_dict_round_trip_identical_transform(fitted_preprocessor, loaded_split):
    state = json.loads(json.dumps(fitted_preprocessor.to_dict()))
    again = Preprocessor.from_dict(state)
    feats = loaded_split["owners"][1].features
    assert np.array_equal(fitted_preprocessor.transform(feats), again.transform(feats))
    assert again.feature_names_ == fitted_preprocessor.feature_names_
    assert again.to_dict() == state


def test_sklearn_contract():
    pp = Preprocessor("lending_club")
    assert pp.schema == "lending_club"
    assert not hasattr(pp, "feature_names_")
    with pytest.raises(DataError, match="not fitted"):
        pp.transform(pd.DataFrame())


def test_missing_columns_and_empty_fit(fitted_preprocessor, loaded_split):
    feats = loaded_split["seed"].features.drop(columns=["dti", "grade"])
    with pytest.raises(DataError, match=r"lack column.*dti, grade"):
        fitted_preprocessor.transform(feats)
    with pytest.raises(DataError, match="zero rows"):
        Preprocessor().fit(loaded_split["seed"].features.iloc[:0])


def test_from_dict_rejects_tampered_state(fitted_preprocessor):
    with pytest.raises(SchemaError):
        Preprocessor.from_dict({"format": "something else"})
    state = fitted_preprocessor.to_dict()
    state["feature_names"] = state["feature_names"][:-1]
    with pytest.raises(SchemaError, match="feature names"):
        Preprocessor.from_dict(state)
    state = fitted_preprocessor.to_dict()
    del state["numeric"][0]["mean"]
    with pytest.raises(SchemaError, match="malformed"):
        Preprocessor.from_dict(state)
