"""My submissions: the journal joined with the chain; retry a waiting one now."""

from __future__ import annotations

import json
import re

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from web3.exceptions import TransactionNotFound

from data_owner_app.forms import ActionForm, form_ok
from data_owner_app.services import services
from hessian_common import owner
from hessian_common.errors import ChainUnavailable
from hessian_common.journal import JournalError
from hessian_common.web import jobs
from hessian_common.web.paging import page_arg, per_page_arg

bp = Blueprint("submissions", __name__, url_prefix="/submissions")


def _rows():
    svc = services()
    try:
        repo, chain_error = svc.repo, None
    except ChainUnavailable as exc:
        repo, chain_error = None, str(exc)
    page = owner.my_submissions_page(
        svc.journal, repo, svc.address, svc.status_cache, page_arg(), per_page_arg()
    )
    subs = page.items
    if chain_error is None and any(s.last_known or s.status == "unknown" for s in subs):
        chain_error = _down_reason()
    names = svc.model_names({s.entry.model_id for s in subs})
    return page, names, chain_error


def _down_reason() -> str:
    """Why the chain did not answer this request (its scope, else the status bar's probe)."""
    from hessian_common.chain.outage import current_scope
    from hessian_common.web.status import current_status

    scope = current_scope()
    if scope is not None and scope.down:
        return scope.down
    return current_status().chain.error or "the chain does not answer"


def _preparing() -> list:
    """Files being trained on now (background share jobs), not in the journal yet."""
    return [j for j in jobs().active(kind="share")]


@bp.get("/")
def index():
    """Every submission with where it stands."""
    page, names, chain_error = _rows()
    return render_template(
        "submissions.html",
        subs=page.items,
        page=page,
        names=names,
        chain_error=chain_error,
        preparing=_preparing(),
        form=ActionForm(),
    )


@bp.get("/status.json")
def status_json():
    """The same as JSON (for scripts and the page's auto-refresh)."""
    page, _names, chain_error = _rows()
    subs = page.items
    return jsonify(
        {
            "chain_error": chain_error,
            "page": page.number,
            "pages": page.pages,
            "total": page.total,
            "submissions": [
                {
                    "id": s.entry.id,
                    "model_id": s.entry.model_id,
                    "status": s.status,
                    "state": str(s.entry.state),
                    "attempts": s.entry.attempts,
                    "last_error": s.entry.last_error,
                    "cid": s.entry.cid,
                    "tx_hash": s.entry.tx_hash,
                    "update_id": s.entry.update_id,
                    "rows": s.entry.rows,
                    "reward": s.reward,
                    "score_change": s.score_change,
                    "last_known": s.last_known,
                    "known_at": s.known_at,
                }
                for s in subs
            ],
            "preparing": [
                {"job": j.id, "model_id": j.tags.get("model"), "label": j.tags.get("label")}
                for j in _preparing()
            ],
        }
    )


@bp.post("/<int:entry_id>/retry")
def retry(entry_id: int):
    """Try a waiting submission again now instead of waiting for its next attempt."""
    if not form_ok():
        return redirect(url_for("submissions.index"))
    svc = services()
    try:
        entry = svc.journal.get(entry_id)
    except JournalError as exc:
        flash(str(exc), "error")
        return redirect(url_for("submissions.index")), 303
    if entry.owner.lower() != svc.address.lower() or not entry.pending:
        flash(f"Submission #{entry_id} is not waiting.", "warning")
        return redirect(url_for("submissions.index"))
    svc.journal.retry_now(entry_id)
    svc.retry_once()
    entry = svc.journal.get(entry_id)
    if entry.pending:
        flash(f"Submission #{entry_id} is still waiting: {entry.last_error}", "warning")
    elif entry.update_id is not None:
        flash(f"Submission #{entry_id} is on chain as update #{entry.update_id}.", "success")
    else:
        flash(f"Submission #{entry_id}: {entry.last_error}", "error")
    return redirect(url_for("submissions.index"))


@bp.get("/tx/<tx_hash>")
def transaction(tx_hash: str):
    """A transaction of ours: block, status, gas, from/to (read from the node)."""
    if not re.fullmatch(r"0x[0-9a-fA-F]{64}", tx_hash):
        abort(404, description=f"{tx_hash!r} is not a transaction hash")
    w3 = services().w3
    try:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        abort(404, description=f"transaction {tx_hash} is not on this chain")
    details = {
        "Transaction": tx_hash,
        "Status": "success" if receipt["status"] == 1 else "reverted",
        "Block": receipt["blockNumber"],
        "From": receipt["from"],
        "To (contract)": receipt["to"],
        "Gas used": f"{receipt['gasUsed']:,}",
    }
    return render_template("detail.html", title="Transaction", details=details)


@bp.get("/cid/<cid>")
def blob(cid: str):
    """An update blob of ours in the content store: what was published (ciphertexts only)."""
    svc = services()
    entries = [e for e in svc.journal.entries(owner=svc.address) if e.cid == cid]
    if not entries:
        abort(404, description=f"{cid} is not one of your submissions")
    data = svc.store.get(cid)  # re-hashed against the CID by the store
    body = json.loads(data)
    details = {
        "CID": cid,
        "Size": f"{len(data):,} bytes (verified against the CID)",
        "Format": body.get("format", "–"),
        "Model": body.get("model_id", "–"),
        "Computed on model": body.get("base_model_cid", "–"),
        "Rows": body.get("rows", "–"),
        "Dataset digest": "0x" + str(body.get("dataset_digest", "")),
        "Update rule": body.get("rule", "–"),
        "Encrypted weights": f"{len(body.get('weights', {}).get('ciphertexts', []))} ciphertexts",
        "Created": body.get("created_at", "–"),
    }
    return render_template("detail.html", title="Encrypted update", details=details)
