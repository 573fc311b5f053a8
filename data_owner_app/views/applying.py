"""The application form page every product shares (a loan's under *Borrow*, a policy's under
*Insure*): what differs is an :class:`ApplicationPage`, the rest is :func:`application_page`.

The send-once rule, as the page runs it: a posted, well-formed application is kept as a
draft before the chain or the store is touched (``keep_posted_answers``); every refusal
comes before anything is written or sent and leaves no draft (the form comes back with the
reasons, 400); a chain or store outage sends nothing, keeps the draft and says so (503, the
form filled in now and on the next visit); an application already on chain (its answer was
lost) leads to its page; a sent one too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from data_owner_app.forms import EXPIRED, ActionForm, application_form
from data_owner_app.services import services
from hessian_common.errors import (
    ApplicationAlreadySent,
    ChainUnavailable,
    HessianError,
    StoreUnavailable,
)

KEPT = (
    "Nothing was sent. Your answers are kept on this machine and will be filled in when you "
    "come back to this form."
)


@dataclass(frozen=True)
class ApplicationPage:
    """One product's application form.

    ``product`` is its customer module (``keep_posted_answers``, ``load_draft``,
    ``submit_form`` with the same signatures); ``offer(book, store, model_id)`` reads the
    deployment's offer (``refused`` when there is none: 404); ``book`` and ``state_dir`` name
    the :class:`~data_owner_app.services.OwnerServices` attributes; a sent application is
    shown at ``endpoint`` with ``<item>_id``; ``form_kw(offer)`` adds the form's arguments.
    """

    product: Any
    offer: Callable[[Any, Any, int], Any]
    book: str
    state_dir: str
    refused: type[HessianError]
    fields: Sequence[Any]
    parse: Callable[[dict[str, str]], Any]
    template: str
    item: str
    endpoint: str
    sent: str
    """What the flash says after "Application sent as <item> #<id>: "."""
    form_kw: Callable[[Any], dict[str, Any]] = field(default=lambda offer: {})


def application_page(page: ApplicationPage, model_id: int) -> Any:
    """The form for ``model_id`` (GET), or the posted application sent (POST): see the
    module docstring."""
    svc = services()
    state_dir = getattr(svc, page.state_dir)
    kept = None
    if request.method == "POST":  # a post without a valid CSRF token never gets here
        kept = page.product.keep_posted_answers(state_dir, model_id, request.form)
    try:
        book = getattr(svc, page.book)
        offer = page.offer(book, svc.store, model_id)
    except page.refused as exc:
        abort(404, description="; ".join(exc.errors.values()))
    except (ChainUnavailable, StoreUnavailable):
        if kept is not None:
            flash(KEPT, "warning")
        raise
    draft = page.product.load_draft(state_dir, model_id) if request.method == "GET" else None
    prefill = {"formdata": MultiDict(draft.values)} if draft is not None else {}
    form = application_form(page.fields, **page.form_kw(offer), **prefill)
    errors: dict[str, str] = {}
    outage: str | None = None
    if form.validate_on_submit():
        values = {f.name: (form[f.name].data or "").strip() for f in page.fields}
        try:
            application = kept if kept is not None else page.parse(values)
            sent = page.product.submit_form(
                book, svc.store, model_id, application, state_dir=state_dir
            )
        except ApplicationAlreadySent as exc:  # its answer was lost (e.g. the node went down)
            flash(f"This application was already sent, as {page.item} #{exc.loan_id}.", "success")
            return redirect(url_for(page.endpoint, **{f"{page.item}_id": exc.loan_id}))
        except page.refused as exc:  # refused: the form below has the answers
            errors = dict(exc.errors) or {"application": str(exc)}
        except (ChainUnavailable, StoreUnavailable) as exc:
            outage = str(exc)
        else:
            flash(f"Application sent as {page.item} #{sent}: {page.sent}", "success")
            return redirect(url_for(page.endpoint, **{f"{page.item}_id": sent}))
        for name, message in errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, message]
    elif form.is_submitted():
        errors = {"csrf_token": EXPIRED}
    general = [m for n, m in errors.items() if n not in form or n == "csrf_token"]
    status = 503 if outage else 400 if errors else 200
    return render_template(
        page.template,
        offer=offer,
        name=svc.model_names({model_id}).get(model_id),
        form=form,
        fields=page.fields,
        errors=errors,
        general_errors=general,
        outage=outage,
        kept=KEPT,
        draft=draft,
        action_form=ActionForm(),
    ), status
