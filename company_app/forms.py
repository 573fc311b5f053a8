"""Flask-WTF forms of the company app. Every form carries a CSRF token.

Field-level checks live here (types, ranges, required); checks that need the chain or the
data (balance, readable file, target above the initial score) are done by
:mod:`hessian_common.tasks` and shown on the same form.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    ValidationError,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
)

from hessian_common.format import ETH, format_amount, sentence
from hessian_common.numbers import NumberFormatError, parse_decimal

METRICS = [SelectChoice("auc", "ROC AUC"), SelectChoice("accuracy", "Accuracy")]
MECHANISMS = [
    SelectChoice("improvement", "Improvement: bounty × score gain / (target − initial)"),
    SelectChoice("equal", "Equal shares among paid updates (claimed after close)"),
    SelectChoice("pro_rata_gain", "Pro rata by each paid update's score gain (after close)"),
]
UPDATE_RULES = [
    SelectChoice("gradient", "One gradient step: P = I − ηA"),
    SelectChoice("epochs", "K local epochs: P = (I − ηA)^K"),
    SelectChoice(
        "newton",
        "Newton step weighted by rows (uses the Hessian): each owner moves the model "
        "N/(N + M), M = rows it holds",
    ),
]
DEFAULT_RULE = "newton"
"""The recommended rule. Owners of a Newton model weigh their N rows against the M rows the
model holds (the seed rows in the spec + the contract's ``acceptedRows``): recursive least
squares, ``enc(w') = P·enc(w) + q`` with ``P = ρK(A + φI)``, ``q = −Kb``, ``ρ = M/N``,
``K = ((1 + ρ)A + ρφI)⁻¹``. On the demo's data (a 20% seed, two owners of about 2,000
loans) it ends at hold-out AUC 0.657 / 0.696 / 0.691 (three seeds) against 0.641 / 0.683 /
0.685 for 20 local epochs; with 50 small owners it reaches the centralized model's AUC
(docs/simulation/README.md)."""


def _stop_after_process_errors(field) -> None:
    """A text that is not a number gets one message (ours), not a range message on top."""
    if field.process_errors:
        raise StopValidation()


class NumberField(DecimalField):
    """A decimal typed by a person, read by :mod:`hessian_common.numbers` (the one reading of
    numbers of both apps): ``1,5`` or ``1,000`` is refused with a message saying why, never
    read as 15 or 1000; ``$`` / ``%`` only where ``dollars`` / ``percent`` is set."""

    def __init__(self, *args, percent: bool = False, dollars: bool = False, **kwargs) -> None:
        kwargs.setdefault("places", None)
        super().__init__(*args, **kwargs)
        self.percent, self.dollars = percent, dollars

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        text = "" if valuelist[0] is None else str(valuelist[0])
        if not text.strip():
            self.data = None
            return
        try:
            self.data = parse_decimal(text, percent=self.percent, dollars=self.dollars)
        except NumberFormatError as exc:
            self.data = None
            raise ValueError(sentence(exc.reason)) from None

    def pre_validate(self, form) -> None:
        _stop_after_process_errors(self)


class WholeNumberField(IntegerField):
    """A whole number typed by a person (see :class:`NumberField`; ``12.0`` is 12)."""

    def process_formdata(self, valuelist) -> None:
        if not valuelist:
            return
        text = "" if valuelist[0] is None else str(valuelist[0])
        if not text.strip():
            self.data = None
            return
        try:
            value = parse_decimal(text)
        except NumberFormatError as exc:
            self.data = None
            raise ValueError(sentence(exc.reason)) from None
        if value != value.to_integral_value():
            self.data = None
            raise ValueError(f"{text.strip()!r} is not a whole number.")
        self.data = int(value)

    def pre_validate(self, form) -> None:
        _stop_after_process_errors(self)


class ActionForm(FlaskForm):
    """An empty form: the CSRF token for one-button actions (evaluate, close, reveal...)."""


class RejectForm(FlaskForm):
    """Reject the next submission by hand: the reason, kept in the audit transcript."""

    note = StringField("Reason", validators=[DataRequired(), Length(min=1, max=300)])


def currency_field(label: str, description: str) -> SelectField:
    """The currency choice (ETH, the chain's HSN and TestUSD, another token by address): its
    choices are the chain's (:func:`hessian_common.chain.currencies.currency_options`), set by
    the view; the view checks the choice on chain and sets ``form.chosen``."""
    return SelectField(label, choices=[], default="eth", validate_choice=False,
                       description=description)  # fmt: skip


def token_address_field() -> StringField:
    return StringField(
        "Token address (for another token)",
        validators=[Optional(), Length(max=64)],
        description="An ERC-20 contract on this chain; it must answer decimals() and symbol().",
    )


class CreateTaskForm(FlaskForm):
    """Everything a lender decides when posting a training task. Amounts are typed in whole
    units of the chosen currency (``form.chosen``, set by the view; ETH by default)."""

    chosen = ETH

    name = StringField("Task name", validators=[DataRequired(), Length(min=3, max=80)])
    currency = currency_field(
        "Currency",
        "The bounty, the deposits and the rewards are all in it. A token bounty is taken in "
        "one step (a permit signed here, or an approval first).",
    )
    token_address = token_address_field()
    bounty_eth = NumberField(
        "Bounty", places=None, validators=[InputRequired(), NumberRange(min=Decimal("0"))],
        description="In the currency above, e.g. 10.",
    )  # fmt: skip
    metric = SelectField("Metric", choices=METRICS, default="auc")
    target = NumberField(
        "Target score",
        places=None,
        validators=[InputRequired(), NumberRange(min=Decimal("0.0"), max=Decimal("1.0"))],
        description="A fraction in (0, 1], above the initial model's score.",
    )
    mechanism = SelectField("Reward mechanism", choices=MECHANISMS, default="improvement")
    deadline_days = NumberField(
        "Deadline (days from now)",
        places=None,
        default=Decimal("14"),
        validators=[Optional(), NumberRange(min=Decimal("0.001"), max=Decimal("730"))],
    )
    deadline_at = DateTimeLocalField(
        "…or deadline (date and time, UTC)",
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )
    eval_window_hours = NumberField(
        "Evaluation window (hours)",
        places=None,
        default=Decimal("24"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.01"), max=Decimal("2160"))],
        description="A submission left unevaluated this long is paid from the bounty.",
    )
    deposit_eth = NumberField(
        "Submission deposit",
        places=None,
        default=Decimal("0"),
        validators=[InputRequired(), NumberRange(min=Decimal("0"))],
        description="Anti-spam: paid with each submission, refunded when it is accepted. "
        "A small part of the bounty; never more than the bounty.",
    )
    key_size = SelectField("Paillier key size (bits)", coerce=int, default=2048)
    update_rule = SelectField("Update rule", choices=UPDATE_RULES, default=DEFAULT_RULE)
    learning_rate = NumberField(
        "Learning rate η",
        places=None,
        default=Decimal("1.0"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.000001"), max=Decimal("100"))],
    )
    epochs = WholeNumberField(
        "Local epochs K", default=20, validators=[InputRequired(), NumberRange(min=1, max=1000)]
    )
    mu = NumberField(
        "Proximal μ",
        places=None,
        default=Decimal("0.5"),
        description="Newton: used only while the model holds no rows (a spec without seed "
        "rows, before anything is accepted).",
        validators=[InputRequired(), NumberRange(min=Decimal("0.000001"), max=Decimal("1000000"))],
    )
    data_file = FileField("Upload your loan data (CSV)")
    data_path = StringField(
        "…or a file path on this machine", validators=[Optional(), Length(max=1000)]
    )
    holdout_fraction = NumberField(
        "Private hold-out fraction",
        places=None,
        default=Decimal("0.3"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.05"), max=Decimal("0.8"))],
    )
    split_seed = WholeNumberField(
        "Split seed", default=0, validators=[InputRequired(), NumberRange(min=0, max=2**31)]
    )
    # what owners are promised (fixed on chain at creation, shown to them before they share)
    min_gain = DecimalField(
        "Minimum paid gain",
        places=None,
        default=None,
        validators=[Optional(), NumberRange(min=Decimal("0"), max=Decimal("0.5"))],
        description="A score gain below this is not paid (blank: derived from the hold-out's "
        "size, so gains within its noise earn nothing).",
    )
    stale_reward_eth = DecimalField(
        "Stale reward per submission",
        places=None,
        default=None,
        validators=[Optional(), NumberRange(min=Decimal("0"))],
        description="Set aside for each submission and paid to it if you leave it unevaluated "
        "past the window (blank: a tenth of the bounty).",
    )
    reveal_window_days = DecimalField(
        "Reveal window (days)",
        places=None,
        default=Decimal("14"),
        validators=[InputRequired(), NumberRange(min=Decimal("0.001"), max=Decimal("90"))],
        description="After the deadline and the evaluation window: reveal the test set and the "
        "decryption transcript by then, or what remains of the bounty goes to the owners.",
    )
    max_rows = IntegerField(
        "Most rows per submission",
        default=10_000_000,
        validators=[InputRequired(), NumberRange(min=1, max=2**63)],
    )

    def validate_bounty_eth(self, field: NumberField) -> None:
        if field.data is not None and field.data <= 0:
            raise ValidationError(f"The bounty must be more than 0 {self.chosen.symbol}.")

    def validate_target(self, field: NumberField) -> None:
        if field.data is not None and field.data <= 0:
            raise ValidationError("The target must be above 0.")

    def validate(self, extra_validators=None) -> bool:
        """Field validators, then the checks that involve two fields (each shown under the
        field the user typed in)."""
        ok = super().validate(extra_validators)
        bounty, deposit = self.bounty_eth.data, self.deposit_eth.data
        if (
            bounty is not None
            and deposit is not None
            and bounty > 0
            and deposit > bounty
            and not self.deposit_eth.errors
        ):
            cur = self.chosen
            unit = Decimal(cur.unit)
            self.deposit_eth.errors = [
                *self.deposit_eth.errors,
                f"The deposit ({format_amount(int(deposit * unit), cur)}) is more than the whole "
                f"bounty ({format_amount(int(bounty * unit), cur)}): no data owner would pay "
                "it. An anti-spam deposit is a small part of the bounty, e.g. "
                f"{format_amount(int(bounty * unit) // 1000, cur)}.",
            ]
            ok = False
        if self.deadline_at.data is not None and not self.deadline_at.errors:
            import calendar
            import time

            at = calendar.timegm(self.deadline_at.data.timetuple())
            if at <= time.time() + 60:
                self.deadline_at.errors = [
                    *self.deadline_at.errors,
                    "This date and time has passed (or is less than a minute away): give a "
                    "deadline in the future (UTC).",
                ]
                ok = False
        if self.deadline_days.data is None and self.deadline_at.data is None:
            if not self.deadline_days.errors and not self.deadline_at.errors:
                self.deadline_days.errors = [
                    *self.deadline_days.errors,
                    "Give a deadline in days or as a date.",
                ]
            ok = False
        has_upload = bool(self.data_file.data and getattr(self.data_file.data, "filename", ""))
        has_path = bool((self.data_path.data or "").strip())
        if has_upload == has_path:
            self.data_path.errors = [
                *self.data_path.errors,
                "Give either an upload or a path, not both."
                if has_upload
                else "Upload a CSV file or give a path to one.",
            ]
            ok = False
        return ok


# --- Lending: deploy a closed model with a pricing policy, decide applications ----------------

TERM_CHOICES = [SelectChoice(36, "36 months"), SelectChoice(60, "60 months")]


def _pct(label: str, default: str, lo: str, hi: str, description: str = "") -> NumberField:
    return NumberField(
        label,
        percent=True,
        places=None,
        default=Decimal(default),
        description=description,
        validators=[InputRequired(), NumberRange(min=Decimal(lo), max=Decimal(hi))],
    )


def show_errors(form: FlaskForm, errors: Mapping[str, str], fields: Mapping[str, str]) -> None:
    """Put a product's ``{key: message}`` refusals (a pricing policy's ``errors()``, a desk's
    ``...InputError``) on ``form``: on the field ``fields.get(key, key)`` when the form has
    one, else above the form (the model's and the policy's own words as they are)."""
    for key, message in errors.items():
        field = getattr(form, fields.get(key, key), None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        elif key in ("model", "policy"):
            form.form_errors.append(message)
        else:
            form.form_errors.append(f"{key}: {message}")


class MultiCheckboxField(SelectMultipleField):
    """Several check boxes for one list-valued field."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class DeployPolicyForm(FlaskForm):
    """The public pricing policy a closed model is deployed with (percentages on the form,
    basis points in :class:`~hessian_common.lending.pricing.PricingPolicy`), and the currency
    its loans are in (amounts in whole units of it).

    The quote is the smallest APR on the grid ``[min APR, max APR]`` (step ``step_bps``) whose
    expected NPV at the required return is >= 0; applicants above ``max PD`` are declined.
    """

    required_return_pct = _pct(
        "Required annual return (%)",
        "8",
        "0",
        "100",
        "Cost of funds plus margin: the discount rate of the expected cash flows.",
    )
    recovery_rate_pct = _pct(
        "Recovery rate (%)",
        "10",
        "0",
        "100",
        "Share of the outstanding balance recovered after a default.",
    )
    max_pd_pct = _pct(
        "Maximum PD (%)",
        "35",
        "0",
        "100",
        "Applicants whose default probability is higher are declined.",
    )
    min_apr_pct = _pct("Lowest APR (%)", "5", "0", "100")
    max_apr_pct = _pct("APR cap (%)", "30", "0", "100", "No offer above this rate.")
    step_bps = WholeNumberField(
        "APR grid step (bps)",
        default=5,
        validators=[InputRequired(), NumberRange(min=1, max=1000)],
    )
    min_amount = WholeNumberField(
        "Smallest loan", default=1000, validators=[InputRequired(), NumberRange(min=1)],
        description="In the loans' currency (8,000 in a dollar token is $8,000).",
    )  # fmt: skip
    max_amount = WholeNumberField(
        "Largest loan", default=40000, validators=[InputRequired(), NumberRange(min=1)]
    )
    terms = MultiCheckboxField("Terms", choices=TERM_CHOICES, coerce=int, default=[36, 60])
    currency = currency_field(
        "Currency of the loans",
        "Principal, instalments and recoveries are all in it (a dollar token on a real "
        "network; TestUSD on a development chain).",
    )
    token_address = token_address_field()

    def _bps(self, field: NumberField) -> None:
        if field.data is not None and (field.data * 100) != (field.data * 100).to_integral_value():
            raise ValidationError("Give the rate in whole basis points (at most 2 decimals).")

    validate_required_return_pct = _bps
    validate_min_apr_pct = _bps
    validate_max_apr_pct = _bps

    def validate(self, extra_validators=None) -> bool:
        """Field validators, then the checks that involve two fields."""
        ok = super().validate(extra_validators)
        if not self.terms.data and not self.terms.errors:
            self.terms.errors = [*self.terms.errors, "Choose at least one term."]
            ok = False
        lo, hi = self.min_apr_pct.data, self.max_apr_pct.data
        if lo is not None and hi is not None and not self.max_apr_pct.errors and lo > hi:
            self.max_apr_pct.errors = [*self.max_apr_pct.errors, "The cap is below the lowest APR."]
            ok = False
        lo, hi = self.min_amount.data, self.max_amount.data
        if lo is not None and hi is not None and not self.max_amount.errors and lo > hi:
            self.max_amount.errors = [
                *self.max_amount.errors,
                "The largest loan is below the smallest.",
            ]
            ok = False
        return ok


class ApproveAtForm(FlaskForm):
    """Approve an application at an APR of the lender's choice (checked against the cap)."""

    apr_pct = NumberField(
        "APR (%)",
        percent=True,
        places=None,
        validators=[InputRequired(), NumberRange(min=Decimal("0"), max=Decimal("100"))],
    )

    def validate_apr_pct(self, field: NumberField) -> None:
        if field.data is not None and (field.data * 100) != (field.data * 100).to_integral_value():
            raise ValidationError("Give the rate in whole basis points (at most 2 decimals).")
