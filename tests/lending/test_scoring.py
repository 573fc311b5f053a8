"""The deployed credit model: reference rates, scoring an application, serialisation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from hessian_common.errors import DataError, LendingInputError
from hessian_common.lending.application import GRADES, application_from_row
from hessian_common.lending.calibration import Calibrator
from hessian_common.lending.pricing import installment
from hessian_common.lending.scoring import CreditModel, build_credit_model, reference_rates


class Spec:
    """The three things build_credit_model reads from a ModelSpec."""

    def __init__(self, pre):
        self.preprocessing = pre.to_dict()
        self.feature_names = list(pre.feature_names_)
        self.schema_name = "lending_club"


@pytest.fixture(scope="module")
def trained(loaded_split, fitted_preprocessor):
    from hessian_common.learning.updates import fit_taylor

    pre = fitted_preprocessor
    X = np.vstack([pre.transform(d.features) for d in loaded_split["owners"]])
    y = np.concatenate([d.y for d in loaded_split["owners"]]).astype(float)
    hold = loaded_split["holdout"]
    return fit_taylor(X, y), pre.transform(hold.features), hold


def test_reference_rates_invert_the_standardisation(trained, fitted_preprocessor):
    _w, X_hold, hold = trained
    rates = reference_rates(
        X_hold, fitted_preprocessor.feature_names_, fitted_preprocessor.to_dict()
    )
    assert list(rates) == list(GRADES)
    raw = hold.features["int_rate"].clip(5, 31)
    for g, expected in raw.groupby(hold.features["grade"]).mean().items():
        assert rates[g] == pytest.approx(expected, abs=1e-3)
    assert all(a < b for a, b in zip(list(rates.values()), list(rates.values())[1:], strict=False))


def test_missing_grades_are_interpolated(trained, fitted_preprocessor):
    _w, X_hold, hold = trained
    names = fitted_preprocessor.feature_names_
    keep = hold.features["grade"].isin(["A", "B", "D", "E"]).to_numpy()
    rates = reference_rates(X_hold[keep], names, fitted_preprocessor.to_dict())
    assert rates["C"] == pytest.approx((rates["B"] + rates["D"]) / 2)
    assert rates["F"] == pytest.approx(2 * rates["E"] - rates["D"])
    with pytest.raises(DataError):
        reference_rates(X_hold[:, :5], names, fitted_preprocessor.to_dict())


def test_build_and_score(trained, fitted_preprocessor):
    from hessian_common.data.generator import generate_loans

    w, X_hold, hold = trained
    model, summary = build_credit_model(
        w, Spec(fitted_preprocessor), X_hold, hold.y, 3, "bafk-model"
    )
    assert summary.chosen in ("platt", "identity") and summary.raw.rows == len(hold.y)
    assert model.calibrator == summary.calibrator
    assert np.allclose(model.predict(X_hold), model.calibrator.apply(X_hold @ w))
    rows = generate_loans(200, seed=5, policy_fraction=0, unresolved_fraction=0)
    pds = {}
    for _, row in rows.iterrows():
        app = application_from_row(row.to_dict())
        sc = model.score(app)
        assert sc.reference_rate == model.reference_rates[app.grade]
        assert sc.installment_ref == pytest.approx(
            installment(app.amount, sc.reference_rate / 100, app.term)
        )
        assert sc.pd_raw == pytest.approx(expit(sc.linear))
        assert sc.pd == pytest.approx(model.calibrator.apply([sc.linear])[0])
        pds.setdefault(app.grade, []).append(sc.pd)
    assert np.mean(pds["A"]) < np.mean(pds["C"]) < np.mean(pds["E"] + pds.get("F", []))
    again = CreditModel.from_dict(model.to_dict())
    assert again.score(app) == model.score(app)


def test_bad_models():
    with pytest.raises(DataError):
        CreditModel(1, "c", [1.0, 2.0], {}, ["intercept"])
    with pytest.raises(DataError):
        CreditModel.from_dict({"format": "nope"})
    m = CreditModel(1, "c", [0.0], {}, ["intercept"], Calibrator(), {})
    from hessian_common.lending.application import parse_application
    from tests.lending.test_application import NOW, good_form

    with pytest.raises(LendingInputError):
        m.score(parse_application(good_form(), created_at=NOW))
