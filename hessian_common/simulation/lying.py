"""A lying lender (``hessian simulate --lying-lender``): what the audit after the reveal must catch.

The simulated lender runs the real lender code (:class:`hessian_common.tasks.Lender`: fetch,
check, decrypt, the spec's acceptance rule, re-encrypt, publish) and only the *record* it sends
on chain is falsified, by :class:`LyingRepository` wrapped around its repository:

1. **wrong rejection**: the first update its rule accepts and the contract would pay (a gain
   of at least ``max(minGain, 1)`` ppm over the best score) is recorded as rejected
   (``Reason.WORSE``), keeping its reward in the bounty;
2. **inflated score**: the next update it accepts is recorded :data:`INFLATION_PPM` above its
   true score (below the target), so the best score on chain runs ahead of the model and later
   honest gains are paid less.

Its decryption transcript is honest (it opens what the lender decrypted), so
:func:`hessian_common.tasks.audit.audit_model` re-runs the rule and re-scores every
evaluation on the revealed test set and names both lies.
"""

from __future__ import annotations

from typing import Any

from hessian_common.chain.repository import ModelRepository, Reason
from hessian_common.types import PPM, from_ppm

INFLATION_PPM = 10_000
"""How far above the truth the lying lender records the score of its second lie (0.01 AUC)."""


class LyingRepository:
    """The lender's :class:`ModelRepository` with a falsified ``evaluate_update`` (module
    docstring); every other call is the repository's. ``lies`` lists what it did:
    ``{"update_id", "lie", "truth", "recorded"}``."""

    def __init__(self, repo: ModelRepository) -> None:
        self._repo = repo
        self.lies: list[dict[str, Any]] = []
        self._rejected: set[int] = set()
        self._inflated: set[int] = set()

    def evaluate_update(
        self,
        update_id: int,
        accepted: bool,
        new_score: int,
        new_model_cid: str = "",
        reason: Reason | int | None = None,
    ) -> dict[str, Any]:
        """Record the verdict, falsified once per model as the module docstring says."""
        if accepted:
            model_id = int(self._repo.submission(int(update_id)).model_id)
            info = self._repo.model(model_id)
            paid = new_score - int(info.current_score) >= max(int(info.min_gain), 1)
            if model_id not in self._rejected and paid:
                self._rejected.add(model_id)
                self.lies.append(
                    {
                        "model_id": model_id,
                        "update_id": int(update_id),
                        "lie": "rejected as worse an update its rule accepts",
                        "truth": from_ppm(new_score),
                        "recorded": from_ppm(new_score),
                    }
                )
                return self._repo.evaluate_update(update_id, False, new_score, "", Reason.WORSE)
            if model_id in self._rejected and model_id not in self._inflated:
                lied = min(new_score + INFLATION_PPM, int(info.target_score) - 1, PPM)
                if lied > new_score:
                    self._inflated.add(model_id)
                    self.lies.append(
                        {
                            "model_id": model_id,
                            "update_id": int(update_id),
                            "lie": "recorded an inflated score",
                            "truth": from_ppm(new_score),
                            "recorded": from_ppm(lied),
                        }
                    )
                    new_score = lied
        return self._repo.evaluate_update(update_id, accepted, new_score, new_model_cid, reason)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repo, name)
