"""Flask-WTF forms (every one carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import Length, Optional


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
