"""Plaintext replay of a scenario: what :func:`.run.run_simulation` computes, minus crypto, chain.

Same cast, same generated loans and misbehaviours (:func:`.run._write_data`, files in the real
export layout read back by the real loader), same lender split
(:func:`hessian_common.tasks.split_indices`), preprocessing fitted on the lender's seed rows,
initial model and curvature prior (:func:`~hessian_common.learning.prior.initial_model`),
update rule (:func:`~hessian_common.learning.updates.build_update`) and the lender's
acceptance rule (:func:`~hessian_common.learning.federated.evaluate_candidate` with the
current weights and the step check). It leaves out only what does
not change the numbers:

- Paillier: ``AffineUpdate.apply(w)`` equals the decryption of ``apply_encrypted(enc(w))`` up
  to the fixed-point rounding of ``P`` (16^−12 per entry; tests/learning/test_updates.py);
- the chain: a dataset digest already submitted is refused (the contract's
  ``DigestAlreadySubmitted``), an accepted score at or above the target closes the model, and
  IMPROVEMENT payouts come from the off-chain mirror (:mod:`hessian_common.rewards`), checked
  against the contract in tests/simulation/test_run.py.

A 50-owner scenario replays in about 20 s, so rules and defaults can be swept over seeds and
partitions (``python -m hessian_common.simulation.offline --help``); the tables in
``docs/simulation/README.md`` come from here. ``test_rows`` adds fresh loans from the same
generator that neither side has seen, to tell real gains from selection on the hold-out.
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.rewards.mechanisms import Evaluation as MirrorEvaluation
from hessian_common.rewards.mechanisms import Mechanism, payouts
from hessian_common.simulation.scenario import Scenario, plan_owners
from hessian_common.types import to_ppm

BOUNTY_WEI = 10**19


@dataclass(frozen=True)
class ReplayResult:
    """Outcome of :func:`replay` (AUCs on the lender's hold-out unless named ``test``)."""

    initial_auc: float
    federated_auc: float
    centralized_auc: float
    accepted: int
    rejected: int
    refused: int
    bad_accepted: int
    bad_owner_share: float
    federated_test_auc: float | None = None
    centralized_test_auc: float | None = None

    @property
    def auc_ratio(self) -> float:
        """Federated over centralized AUC on the hold-out (what the simulation reports)."""
        return self.federated_auc / self.centralized_auc

    @property
    def test_ratio(self) -> float | None:
        """The same ratio on fresh loans, or None without ``test_rows``."""
        if self.federated_test_auc is None or self.centralized_test_auc is None:
            return None
        return self.federated_test_auc / self.centralized_test_auc


def replay(
    scenario: Scenario,
    *,
    params: dict[str, float] | None = None,
    tolerance: float = 0.0,
    alpha: float | None = None,
    test_rows: int = 0,
    model_rows: bool | None = None,
    threshold: bool = False,
) -> ReplayResult:
    """Replay ``scenario`` in plaintext (module docstring) and return the outcome.

    Parameters
    ----------
    scenario : Scenario
        Its ``update_rule`` and ``hyper`` are the model's; ``params`` overrides ``hyper``.
    tolerance : float
        The lender's tolerance (as ``TaskParams.tolerance``).
    alpha : float, optional
        Level of the lender's paired hold-out tests (default: the learning room's 0.05).
    threshold : bool
        The old threshold rule instead (accept iff score >= current − tolerance).
    test_rows : int
        Fresh loans to score both models on as well (0: none).
    model_rows : bool, optional
        Each owner passes ``model_rows`` = the rows the current model holds (the lender's
        seed rows plus the rows of every accepted update, which the contract counts): the
        recursive least-squares Newton step (``proximal_newton``). Default:
        ``scenario.owners_pass_model_rows`` (what the chain run does).
    """
    from hessian_common.data.loader import load_file
    from hessian_common.data.preprocess import Preprocessor
    from hessian_common.learning.federated import (
        DEFAULT_ALPHA,
        StepContext,
        centralized_baseline,
        evaluate_candidate,
    )
    from hessian_common.learning.metrics import score_weights
    from hessian_common.learning.prior import initial_model
    from hessian_common.learning.updates import _params, build_update
    from hessian_common.simulation.run import _OwnerData, _quick_centralized, _write_data
    from hessian_common.tasks import split_indices

    cast = plan_owners(scenario)
    if model_rows is None:
        model_rows = scenario.owners_pass_model_rows and scenario.update_rule == "newton"
    rule_params = {**dict(scenario.hyper), **dict(params or {})}
    _params(scenario.update_rule, rule_params)  # unknown or bad parameters: fail before work
    with tempfile.TemporaryDirectory(prefix="hessian-replay-") as tmp:
        lender_path, paths = _write_data(scenario, cast, Path(tmp))
        lender = load_file(lender_path)
        owners = {
            p.index: _OwnerData(p, path, load_file(path))
            for p, path in zip(cast, paths, strict=True)
        }
        test = None
        if test_rows:
            from hessian_common.data.generator import generate_loans, write_export

            fresh = generate_loans(int(test_rows), np.random.default_rng([scenario.seed, 99]))
            write_export(fresh, Path(tmp) / "test.csv", "original")
            test = load_file(Path(tmp) / "test.csv")

    target = scenario.target
    if target is None:
        target = min(0.999, _quick_centralized(owners, cast, lender) + scenario.target_margin)
    y_all = np.asarray(lender.y).astype(int)
    lender_fraction = scenario.seed_fraction + scenario.holdout_fraction
    seed_idx, hold_idx = split_indices(
        y_all, scenario.holdout_fraction / lender_fraction, scenario.seed
    )
    features = lender.features
    seed_f = features.iloc[seed_idx].reset_index(drop=True)
    prep = Preprocessor(lender.schema).fit(seed_f, y_all[seed_idx])
    X_seed, y_seed = prep.transform(seed_f), y_all[seed_idx]
    X_hold = prep.transform(features.iloc[hold_idx].reset_index(drop=True))
    y_hold = y_all[hold_idx]

    l2 = float(_params(scenario.update_rule, rule_params)["l2"])
    w, prior = initial_model(X_seed, y_seed, X_hold, l2=l2)
    rows_in_model = len(y_seed)
    initial = current = float(score_weights(X_hold, y_hold, w)["auc"])
    seen: set[bytes] = set()
    evaluations: list[MirrorEvaluation] = []
    accepted = rejected = refused = bad_accepted = 0
    closed = False
    for plan in cast:
        data = owners[plan.index].loaded
        digest = data.digest()
        if closed or digest in seen:
            refused += 1
            continue
        seen.add(digest)
        X = prep.transform(data.features)
        if model_rows:
            rule_params["model_rows"] = rows_in_model
        update = build_update(scenario.update_rule, X, np.asarray(data.y), rule_params, prior=prior)
        w_new = update.apply(w)
        extra = {}
        if not threshold:
            step = StepContext(w, update.rows, rows_in_model, prior, l2) if model_rows else None
            extra = {"current_weights": w, "alpha": alpha or DEFAULT_ALPHA, "step": step}
        ev = evaluate_candidate(w_new, X_hold, y_hold, current, "auc", tolerance, **extra)
        score_ppm = int(to_ppm(ev.score)) if np.isfinite(ev.score) else 0
        evaluations.append(MirrorEvaluation(plan.name, update.rows, ev.accepted, score_ppm))
        if ev.accepted:
            w, current = w_new, ev.score
            rows_in_model += update.rows
            accepted += 1
            bad_accepted += not plan.honest
            closed = score_ppm >= int(to_ppm(target))
        else:
            rejected += 1

    pay = payouts(
        Mechanism.IMPROVEMENT,
        BOUNTY_WEI,
        int(to_ppm(initial)),
        int(to_ppm(target)),
        evaluations,
    )
    bad_names = {p.name for p in cast if not p.honest}
    paid = sum(pay.by_owner.values())
    bad_paid = sum(v for k, v in pay.by_owner.items() if k in bad_names)
    honest = [
        (prep.transform(owners[p.index].loaded.features), np.asarray(owners[p.index].loaded.y))
        for p in cast
        if p.honest
    ]
    central = centralized_baseline(honest, X_seed, y_seed, X_hold, y_hold)["auc"]
    fed_test = central_test = None
    if test is not None:
        X_t, y_t = prep.transform(test.features), np.asarray(test.y)
        fed_test = float(score_weights(X_t, y_t, w)["auc"])
        central_test = float(centralized_baseline(honest, X_seed, y_seed, X_t, y_t)["auc"])
    return ReplayResult(
        initial_auc=initial,
        federated_auc=float(current),
        centralized_auc=float(central),
        accepted=accepted,
        rejected=rejected,
        refused=refused,
        bad_accepted=bad_accepted,
        bad_owner_share=bad_paid / paid if paid else 0.0,
        federated_test_auc=fed_test,
        centralized_test_auc=central_test,
    )


def _main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Plaintext sweep of simulation scenarios.")
    ap.add_argument("--owners", type=int, default=50)
    ap.add_argument("--bad", type=int, default=5)
    ap.add_argument("--rows-per-owner", type=int, default=400)
    ap.add_argument("--seeds", default="7,11,23")
    ap.add_argument("--partitions", default="iid,state,grade")
    ap.add_argument("--mu", type=float, default=None)
    ap.add_argument("--floor", type=float, default=None)
    ap.add_argument("--alpha", type=float, default=None)
    ap.add_argument("--test-rows", type=int, default=30_000)
    ap.add_argument("--plain", action="store_true", help="owners do not pass model_rows")
    ap.add_argument("--threshold", action="store_true", help="the old threshold rule")
    a = ap.parse_args(argv)
    params: dict[str, Any] = {}
    if a.mu is not None:
        params["mu"] = a.mu
    if a.floor is not None:
        params["floor"] = a.floor
    base = Scenario(owners=a.owners, bad=a.bad, rows=a.rows_per_owner * a.owners, key_bits=512)
    print(
        "| seed | partition | initial | federated | centralized | ratio | test ratio "
        "| accepted | bad accepted | bad share |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seed in (int(s) for s in a.seeds.split(",")):
        for part in a.partitions.split(","):
            r = replay(
                replace(base, seed=seed, partition=part),
                params=params,
                alpha=a.alpha,
                test_rows=a.test_rows,
                model_rows=not a.plain,
                threshold=a.threshold,
            )
            tr = f"{r.test_ratio:.4f}" if r.test_ratio is not None else "-"
            print(
                f"| {seed} | {part} | {r.initial_auc:.4f} | {r.federated_auc:.4f} | "
                f"{r.centralized_auc:.4f} | {r.auc_ratio:.4f} | {tr} | {r.accepted} | "
                f"{r.bad_accepted} | {r.bad_owner_share:.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    _main()
