"""Flask-WTF forms of the insurer's pages (``/insurance``). Every form carries a CSRF token.

Numbers are read by :mod:`hessian_common.numbers` (the company app's :class:`NumberField`);
the rules (a policy's ranges, the pool's free capital, the claim window) are the library's
(:mod:`hessian_common.insurance`) and shown on the same form.
"""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from company_app.forms import MultiCheckboxField, NumberField, _pct
from hessian_common.chain.policybook import DenialReason

TERM_CHOICES = [SelectChoice(6, "6 months"), SelectChoice(12, "12 months")]
DEDUCTIBLE_CHOICES = [SelectChoice(d, f"${d:,}") for d in (250, 500, 1000, 2000)]
LIMIT_CHOICES = [SelectChoice(v, f"${v:,}") for v in (15_000, 25_000, 50_000, 100_000)]
REASON_CHOICES = [SelectChoice(r.name.lower(), r.label.capitalize()) for r in DenialReason]


class InsurancePolicyForm(FlaskForm):
    """The public pricing rule a claims model is deployed with (percentages and dollars on
    the form; :class:`~hessian_common.insurance.pricing.PricingPolicy` holds fractions).

    premium = claim probability × expected payment per claim × (1 + loading) + expense.
    """

    risk_loading_pct = _pct(
        "Risk loading (%)", "25", "0", "1000", "Added to the expected loss of each policy."
    )
    expense = NumberField(
        "Expense per policy ($)",
        dollars=True,
        default=Decimal("40"),
        validators=[InputRequired(), NumberRange(min=Decimal("0"), max=Decimal("1000000"))],
    )
    max_claim_pct = _pct(
        "Maximum claim probability (%)", "35", "0.01", "100", "Applicants above it are declined."
    )
    deductibles = MultiCheckboxField(
        "Deductibles offered",
        choices=DEDUCTIBLE_CHOICES,
        coerce=int,
        default=[250, 500, 1000, 2000],
    )
    coverage_limits = MultiCheckboxField(
        "Coverage limits offered",
        choices=LIMIT_CHOICES,
        coerce=int,
        default=[15_000, 25_000, 50_000, 100_000],
    )
    terms = MultiCheckboxField("Terms", choices=TERM_CHOICES, coerce=int, default=[6, 12])
    dollars_per_token = NumberField(
        "US dollars per ETH",
        default=Decimal("10000"),
        description="The chain counts ETH: a $15,000 limit is 1.5 ETH of reserve at the default.",
        validators=[InputRequired(), NumberRange(min=Decimal("0.000001"), max=Decimal("1e12"))],
    )
    claims_file = StringField(
        "Your claims file (optional)",
        description="A path on this machine to your policies with the amounts paid: the loss "
        "per vehicle type is fitted from it. Empty: the built-in severity table.",
        validators=[Optional(), Length(max=1000)],
    )


class AmountForm(FlaskForm):
    """An amount of the pool's currency (ETH), for a deposit or a withdrawal of capital."""

    amount = NumberField(
        "Amount",
        validators=[InputRequired(), NumberRange(min=Decimal("0.000001"), max=Decimal("1e12"))],
    )


class DenyForm(FlaskForm):
    """Deny a claim, with the reason recorded on chain."""

    reason = SelectField("Reason", choices=REASON_CHOICES, validators=[InputRequired()])
