"""Open models, read from the chain (state) and the store (spec); their audits, and each
lender's track record (every earlier model with its audit verdict) before an owner shares."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from web3 import Web3

from data_owner_app.services import services
from hessian_common import owner
from hessian_common.tasks.audit import audit_model, track_record

bp = Blueprint("models", __name__, url_prefix="/models")


def _record(lender: str) -> list:
    svc = services()
    return track_record(svc.repo, svc.store, lender, cache_path=svc.state_dir / "audits.json")


@bp.get("/")
def index():
    """Every open model (``?all=1``: closed ones too)."""
    svc = services()
    show_all = request.args.get("all") == "1"
    models = owner.list_open_models(svc.repo, svc.store, include_closed=show_all)
    return render_template("models.html", models=models, show_all=show_all)


def model_or_404(model_id: int) -> owner.OpenModel:
    """The model ``model_id`` as an owner sees it, or a 404 page saying there is none (the
    contract's ``UnknownModel`` revert is not an error of the user's making)."""
    from flask import abort

    from hessian_common.errors import ContractRevert

    svc = services()
    try:
        return owner.get_model(svc.repo, svc.store, model_id)
    except ContractRevert as exc:
        if exc.error_name == "UnknownModel":
            abort(
                404,
                description=f"There is no model #{model_id} on this chain. The open models "
                "are listed under Open models.",
            )
        raise


@bp.get("/<int:model_id>")
def detail(model_id: int):
    """One model: its terms, its schema's columns, and your submissions to it."""
    svc = services()
    model = model_or_404(model_id)
    subs = [
        s
        for s in owner.my_submissions(svc.journal, svc.repo, svc.address, svc.status_cache)
        if s.entry.model_id == model_id
    ]
    return render_template("model.html", model=model, subs=subs, record=_record(model.lender))


@bp.get("/<int:model_id>/audit")
def audit(model_id: int):
    """The audit of a revealed model, from the chain and the store alone."""
    svc = services()
    model = owner.get_model(svc.repo, svc.store, model_id)
    info = svc.repo.model(model_id)
    report = audit_model(svc.repo, svc.store, model_id) if info.revealed else None
    return render_template("audit.html", model=model, report=report)


@bp.get("/lenders/<address>")
def lender(address: str):
    """A lender's track record: its models on this contract with their audit verdicts."""
    if not Web3.is_address(address):
        abort(404, description=f"{address!r} is not an Ethereum address")
    checksummed = Web3.to_checksum_address(address)
    return render_template("lender.html", lender=checksummed, record=_record(checksummed))
