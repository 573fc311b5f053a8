"""The acceptance rule a model's spec fixes at creation, so that anyone can re-run it.

The lender judges every decrypted candidate ``w'`` with the rule its spec names
(:class:`AcceptanceRule`, the spec's ``acceptance`` field). The spec's CID is on chain from
``createModel``, so the rule cannot change while owners submit; after the reveal, the audit
(:mod:`hessian_common.tasks.audit`) re-runs :meth:`AcceptanceRule.judge` on the revealed
test set and the decryption transcript and names every verdict the rule does not give.

Two rules (the maths in :mod:`hessian_common.learning.federated`, "Acceptance rule"):

- ``"paired"`` (the lender's rule, default for new models): reject iff the candidate is
  *significantly bad* against the current model ``w`` on the hold-out — the metric's paired
  test at level ``alpha`` (one-sided; a drop up to ``tolerance`` passes even when
  significant), the paired Taylor-loss test at ``alpha``, and, for a Newton update with a
  curvature prior, the step check at ``step_alpha`` against the update's base weights ``w_b``,
  its rows ``N`` and the rows ``M`` it was weighed against::

      z_metric < −z_(1−α) and Δmetric < −tolerance     -> rejected
      z_loss   < −z_(1−α)                               -> rejected
      |z_intercept| > z_(1−α_s/2)  or  z_score > z_(1−α_s)  -> rejected

- ``"threshold"`` (specs written before the rule was in the spec): accept iff
  ``metric(w') >= metric(w) − tolerance``.

Everything :meth:`AcceptanceRule.judge` reads is public after the reveal: the hold-out (the
revealed test set), the current and base weights (openings in the transcript), ``N`` and
``M`` (on chain: the submission's rows, the spec's ``seed_rows`` plus the rows of the
updates accepted before the base version).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from hessian_common.errors import DataError
from hessian_common.learning.federated import (
    DEFAULT_ALPHA,
    DEFAULT_STEP_ALPHA,
    Evaluation,
    evaluate_candidate,
    step_context,
)

if TYPE_CHECKING:
    from hessian_common.learning.spec import ModelSpec

RULES = ("paired", "threshold")


@dataclass(frozen=True)
class AcceptanceRule:
    """The acceptance rule of one model (module docstring).

    Attributes
    ----------
    rule : ``"paired"`` or ``"threshold"``
    tolerance : float in [0, 1)
        Score drop tolerated (paired: a significant drop up to it still passes the metric
        test; threshold: the largest drop accepted).
    alpha : float in (0, 0.5]
        One-sided level of the paired hold-out tests.
    step_alpha : float in (0, 0.5]
        Level of each step check.
    """

    rule: str = "paired"
    tolerance: float = 0.0
    alpha: float = DEFAULT_ALPHA
    step_alpha: float = DEFAULT_STEP_ALPHA

    def __post_init__(self) -> None:
        if self.rule not in RULES:
            raise DataError(f"acceptance rule must be one of {', '.join(RULES)}, not {self.rule!r}")
        for name in ("tolerance", "alpha", "step_alpha"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise DataError(f"acceptance {name} must be a number, not {value!r}")
            if name == "tolerance" and not 0 <= value < 1:
                raise DataError(f"acceptance tolerance must be in [0, 1), got {value}")
            if name != "tolerance" and not 0 < value <= 0.5:
                raise DataError(f"acceptance {name} must be in (0, 0.5], got {value}")

    @property
    def paired(self) -> bool:
        """The lender's rule (paired tests and the step check)."""
        return self.rule == "paired"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (the spec's ``acceptance``)."""
        return {k: (float(v) if k != "rule" else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Any, what: str = "acceptance rule") -> AcceptanceRule:
        """Parse a spec's ``acceptance`` (unknown keys refused); :class:`DataError` if bad."""
        if not isinstance(d, dict):
            raise DataError(f"{what}: must be an object")
        unknown = set(d) - {"rule", "tolerance", "alpha", "step_alpha"}
        if unknown:
            raise DataError(f"{what}: unknown keys {sorted(unknown)}")
        try:
            return cls(**d)
        except DataError as exc:
            raise DataError(f"{what}: {exc}") from None

    @classmethod
    def of(cls, spec: ModelSpec, legacy_tolerance: float = 0.0) -> AcceptanceRule:
        """The rule ``spec`` fixes; a spec without one is judged by the threshold rule with
        ``legacy_tolerance`` (what its lender used before the rule was in the spec)."""
        raw = getattr(spec, "acceptance", None)
        if raw is None:
            return cls("threshold", float(legacy_tolerance))
        return cls.from_dict(raw)

    def judge(
        self,
        spec: ModelSpec,
        w_candidate: Any,
        X_hold: Any,
        y_hold: Any,
        current_score: float,
        current_weights: Any,
        base_weights: Any,
        rows: int,
        model_rows: float,
    ) -> Evaluation:
        """The verdict on ``w_candidate`` (published rounding), against the current model
        (``current_weights``, hold-out score ``current_score``), for an update of ``rows``
        rows built on ``base_weights`` weighed against ``model_rows`` rows."""
        if not self.paired:
            return evaluate_candidate(
                w_candidate, X_hold, y_hold, current_score, spec.metric, self.tolerance
            )
        step = step_context(spec, base_weights, rows, model_rows)
        return evaluate_candidate(
            w_candidate,
            X_hold,
            y_hold,
            current_score,
            spec.metric,
            self.tolerance,
            current_weights=current_weights,
            alpha=self.alpha,
            step=step,
            step_alpha=self.step_alpha,
        )


__all__ = ["RULES", "AcceptanceRule"]
