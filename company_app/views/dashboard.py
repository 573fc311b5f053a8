"""The dashboard: the lender's models at a glance."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from company_app import services
from hessian_common.format import ETH, Currency
from hessian_common.web import jobs

bp = Blueprint("dashboard", __name__)


def per_currency(models: list[Any], attribute: str) -> dict[Currency, int]:
    """``{currency: Σ attribute}`` over the models (ether alone when there are none): the
    amounts of different currencies are never added together."""
    out: dict[Currency, int] = {}
    for m in models:
        out[m.currency] = out.get(m.currency, 0) + int(getattr(m, attribute))
    return out or {ETH: 0}


@bp.get("/")
def index():
    """Models with status, bounty left, current vs target score, submissions waiting."""
    active = jobs().active()  # before the chain reads (see models.show)
    lender = services.lender()
    models = lender.models()
    totals = {
        "escrowed": per_currency(models, "remaining"),
        "paid": per_currency(models, "paid"),
        "waiting": sum(m.waiting for m in models),
        "open": sum(1 for m in models if m.status == "open"),
    }
    return render_template(
        "dashboard.html",
        models=models,
        totals=totals,
        active_jobs=active,
    )
