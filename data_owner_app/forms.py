"""Flask-WTF forms (every one carries a CSRF token)."""

from __future__ import annotations

from flask import flash
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

_UNSET = object()


class ShareForm(FlaskForm):
    """Choose the data: upload a CSV, or give the path of a file on this machine."""

    upload = FileField("Upload a CSV file")
    path = StringField(
        "…or the path of a file on this machine",
        validators=[Optional(), Length(max=4096)],
        description="Read in place; nothing is copied or sent.",
    )
    check = SubmitField("Check the file")

    def validate(self, extra_validators=None) -> bool:
        """Exactly one of upload / path."""
        if not super().validate(extra_validators):
            return False
        has_upload = bool(self.upload.data and getattr(self.upload.data, "filename", ""))
        has_path = bool((self.path.data or "").strip())
        if has_upload == has_path:
            message = (
                "Choose a file to upload or give a path, not both."
                if has_upload
                else "Choose a CSV file to upload, or give the path of one on this machine."
            )
            self.upload.errors = [*self.upload.errors, message]
            return False
        return True


class SubmitForm(FlaskForm):
    """Confirm: train locally on the checked file and submit the encrypted update."""

    confirm = BooleanField(
        "I understand the deposit is sent with the submission and refunded by the contract's rules"
    )
    submit = SubmitField("Train and submit")


class ActionForm(FlaskForm):
    """A bare CSRF-protected button (withdraw, retry, claim, discard)."""

    go = SubmitField("Go")


EXPIRED = "The form expired; reload the page and try again."


def form_ok(form: FlaskForm | None = None) -> bool:
    """``form`` (default: an :class:`ActionForm`) posted with a valid CSRF token; otherwise
    the page's next view says the form expired."""
    if (form or ActionForm()).validate_on_submit():
        return True
    flash(EXPIRED, "error")
    return False


class ApplicationForm(FlaskForm):
    """A loan application: one text or select input per entry of ``APPLICATION_FIELDS``.

    The inputs are added by :func:`application_form` (the field list lives in the lending
    library, so the form follows it). The form itself checks only the CSRF token; the values are
    checked by ``hessian_common.lending.application.parse_application``, whose per-field messages
    are put back on the inputs, so the page and the library never disagree.
    """

    submit = SubmitField("Seal and send the application")


def application_form(fields, formdata=_UNSET, policy=None) -> ApplicationForm:
    """An :class:`ApplicationForm` with one input per application field.

    Parameters
    ----------
    fields : list of lending ``Field``
        ``name, label, kind ("number" | "choice" | "month"), choices, minimum, maximum, help,
        required``.
    formdata : MultiDict, optional
        The posted data (default: the current request's, as Flask-WTF does).
    policy : dict, optional
        The lender's pricing policy (``min_amount``, ``max_amount``, ``terms``): narrows the
        amount's range and the term's choices to what this lender offers.
    """
    policy = policy or {}

    class _Form(ApplicationForm):
        pass

    for f in fields:
        # No WTForms validators (and so no HTML ``required``): the library checks the values.
        kw = {"validators": [Optional()], "description": f.help or ""}
        attrs: dict[str, object] = {}
        if f.kind == "choice":
            choices = [_choice(c) for c in (f.choices or ())]
            if f.name == "term" and policy.get("terms"):
                offered = {str(t) for t in policy["terms"]}
                choices = [c for c in choices if c.value in offered] or choices
            if not f.required:
                choices = [SelectChoice("", "—"), *choices]
            field = SelectField(f.label, choices=choices, validate_choice=False, **kw)
        else:
            lo, hi = f.minimum, f.maximum
            if f.name == "loan_amnt":
                lo = policy.get("min_amount", lo)
                hi = policy.get("max_amount", hi)
            if f.kind == "number":
                attrs["inputmode"] = "decimal"
                if lo is not None:
                    attrs["data-min"] = lo
                if hi is not None:
                    attrs["data-max"] = hi
            else:
                attrs["placeholder"] = "Jan-2005"
            field = StringField(f.label, render_kw=attrs, **kw)
        setattr(_Form, f.name, field)
    if formdata is _UNSET:
        return _Form()
    return _Form(formdata=formdata)


def _choice(c) -> SelectChoice:
    """A choice given as ``value`` or ``(value, label)``."""
    if isinstance(c, tuple | list):
        return SelectChoice(str(c[0]), str(c[1]))
    return SelectChoice(str(c), str(c))
