"""The dashboard: the lender's models at a glance."""

from __future__ import annotations

from flask import Blueprint, render_template

from company_app import services
from hessian_common.web import jobs

bp = Blueprint("dashboard", __name__)


@bp.get("/")
def index():
    """Models with status, bounty left, current vs target score, submissions waiting."""
    active = jobs().active()  # before the chain reads (see models.show)
    lender = services.lender()
    models = lender.models()
    totals = {
        "escrowed": sum(m.remaining for m in models),
        "paid": sum(m.paid for m in models),
        "waiting": sum(m.waiting for m in models),
        "open": sum(1 for m in models if m.status == "open"),
    }
    return render_template(
        "dashboard.html",
        models=models,
        totals=totals,
        active_jobs=active,
    )
