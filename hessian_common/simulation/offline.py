"""Plaintext replay of a scenario: what :func:`.run.run_simulation` computes, minus crypto, chain.

Same cast, same generated loans and misbehaviours (:func:`.data.write_data`, files in the real
export layout read back by the real loader), same lender split
(:func:`hessian_common.tasks.split_indices`), preprocessing fitted on the lender's seed rows,
initial model and curvature prior (:func:`~hessian_common.learning.prior.initial_model`),
update rule (:func:`~hessian_common.learning.updates.build_update`) and the lender's
acceptance rule (:func:`~hessian_common.learning.federated.evaluate_candidate` with the
current weights and the step check). It leaves out only what does not change the numbers:

- Paillier: ``AffineUpdate.apply(w)`` equals the decryption of ``apply_encrypted(enc(w))`` up
  to the fixed-point rounding of ``P`` (16^−12 per entry; tests/learning/test_updates.py);
- the lender's checks before scoring, by their outcome: a ``crash`` blob is rejected as
  malformed, a ``frontrun`` copy for its signer, a ``copy_other`` re-signed copy as a
  duplicate candidate, and a ``replay`` / ``copy`` of rows already in the model as duplicate
  rows (its victim was accepted); an ``inflate_rows`` update is built on its rows repeated
  :data:`.misbehave.INFLATE_FACTOR` times and judged at the rows it claims;
- the chain: an accepted score at or above the target closes the model, and IMPROVEMENT pays
  through the off-chain escrow (:mod:`hessian_common.rewards`) with the lender's default
  minimum paid gain (the hold-out's noise floor, :func:`~hessian_common.learning.metrics.
  paid_gain_floor`), the escrow checked against the contract in tests/simulation/test_run.py.

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

from hessian_common.data.generator import generate_loans, write_export
from hessian_common.data.loader import load_file
from hessian_common.data.preprocess import Preprocessor
from hessian_common.errors import DataError
from hessian_common.learning.federated import (
    DEFAULT_ALPHA,
    StepContext,
    centralized_baseline,
    evaluate_candidate,
)
from hessian_common.learning.metrics import paid_gain_floor, score_weights
from hessian_common.learning.prior import initial_model
from hessian_common.learning.updates import DEFAULT_PARAMS, RULES, build_update
from hessian_common.rewards.mechanisms import Evaluation as MirrorEvaluation
from hessian_common.rewards.mechanisms import Mechanism, payouts
from hessian_common.simulation import misbehave
from hessian_common.simulation.data import load_owners, quick_centralized, write_data
from hessian_common.simulation.scenario import Scenario, plan_owners
from hessian_common.tasks import split_indices
from hessian_common.types import to_ppm

REJECTED_UNSCORED = frozenset({"crash", "copy_other"})
"""Kinds the lender rejects before scoring (malformed blob; duplicate candidate)."""

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
    """Share of the *bounty* paid to misbehaving owners (IMPROVEMENT)."""
    paid_share: float = 0.0
    """Share of the bounty paid to anyone."""
    share_by_kind: dict[str, float] | None = None
    """Share of the bounty paid to each owner kind."""
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
    cast = plan_owners(scenario)
    if model_rows is None:
        model_rows = scenario.owners_pass_model_rows and scenario.update_rule == "newton"
    rule_params = {**dict(scenario.hyper), **dict(params or {})}
    checked = rule_parameters(scenario.update_rule, rule_params)  # bad names: fail before work
    with tempfile.TemporaryDirectory(prefix="hessian-replay-") as tmp:
        lender_path, paths = write_data(scenario, cast, Path(tmp))
        lender = load_file(lender_path)
        owners = load_owners(cast, paths)
        test = None
        if test_rows:
            fresh = generate_loans(int(test_rows), np.random.default_rng([scenario.seed, 99]))
            write_export(fresh, Path(tmp) / "test.csv", "original")
            test = load_file(Path(tmp) / "test.csv")

    target = scenario.target
    if target is None:
        target = min(0.999, quick_centralized(owners, cast, lender) + scenario.target_margin)
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

    l2 = float(checked["l2"])
    w, prior = initial_model(X_seed, y_seed, X_hold, l2=l2)
    rows_in_model = len(y_seed)
    initial = current = float(score_weights(X_hold, y_hold, w)["auc"])
    min_gain = paid_gain_floor(y_hold, initial, "auc")
    in_model: set[int] = set()  # owners whose rows the model holds (accepted)
    evaluations: list[MirrorEvaluation] = []
    accepted = rejected = refused = bad_accepted = 0
    closed = False
    for plan in cast:
        if closed:
            refused += 1
            continue
        source = plan.victim if plan.kind in ("replay", "copy") else plan.index
        data = owners[plan.index].loaded
        if plan.kind == "frontrun":
            if plan.victim is not None:  # its copy of the victim's submission: wrong signer
                evaluations.append(MirrorEvaluation(plan.name, data.rows, False, 0))
                rejected += 1
            else:
                refused += 1  # idle: nothing to copy
            continue
        if plan.kind in REJECTED_UNSCORED or source in in_model:
            evaluations.append(MirrorEvaluation(plan.name, data.rows, False, 0))
            rejected += 1
            continue
        factor = misbehave.INFLATE_FACTOR if plan.kind == "inflate_rows" else 1
        X = np.tile(prep.transform(data.features), (factor, 1))
        y = np.tile(np.asarray(data.y), factor)
        if model_rows:
            rule_params["model_rows"] = rows_in_model
        update = build_update(scenario.update_rule, X, y, rule_params, prior=prior)
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
            in_model.add(source)
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
        min_gain=int(to_ppm(min_gain)),
    )
    bad_names = {p.name for p in cast if not p.honest}
    bad_paid = sum(v for k, v in pay.by_owner.items() if k in bad_names)
    kind_of = {p.name: p.kind for p in cast}
    by_kind: dict[str, int] = {}
    for name, v in pay.by_owner.items():
        by_kind[kind_of[name]] = by_kind.get(kind_of[name], 0) + v
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
        bad_owner_share=bad_paid / BOUNTY_WEI,
        paid_share=pay.paid / BOUNTY_WEI,
        share_by_kind={k: v / BOUNTY_WEI for k, v in sorted(by_kind.items())},
        federated_test_auc=fed_test,
        centralized_test_auc=central_test,
    )


def rule_parameters(rule: str, params: dict[str, Any] | None) -> dict[str, float]:
    """The rule's defaults (:data:`~hessian_common.learning.updates.DEFAULT_PARAMS`) with
    ``params`` over them; ``model_rows`` is the owner's, not the rule's, and passes. Raises
    :class:`DataError` naming an unknown rule or parameter."""
    if rule not in RULES:
        raise DataError(f"unknown update rule {rule!r}; expected one of {', '.join(RULES)}")
    out = dict(DEFAULT_PARAMS[rule])
    for k, v in (params or {}).items():
        if k not in out:
            raise DataError(f"rule {rule!r} has no parameter {k!r} (has {', '.join(out)})")
        out[k] = float(v)
    return out


def _main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Plaintext sweep of simulation scenarios.")
    ap.add_argument("--owners", type=int, default=50)
    ap.add_argument("--bad", type=int, default=5)
    ap.add_argument("--rows-per-owner", type=int, default=400)
    ap.add_argument("--seeds", default="7,11,23")
    ap.add_argument("--partitions", default="iid,state,grade")
    ap.add_argument("--bad-kinds", default=",".join(misbehave.KINDS))
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
    base = Scenario(
        owners=a.owners,
        bad=a.bad,
        rows=a.rows_per_owner * a.owners,
        key_bits=512,
        bad_kinds=misbehave.parse_kinds(a.bad_kinds),
    )
    print(
        "| seed | partition | initial | federated | centralized | ratio | test ratio "
        "| accepted | bad accepted | paid | bad share | largest bad kind |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
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
            bad_kinds = {k: v for k, v in (r.share_by_kind or {}).items() if k != "honest"}
            worst = max(bad_kinds.items(), key=lambda kv: kv[1], default=("-", 0.0))
            print(
                f"| {seed} | {part} | {r.initial_auc:.4f} | {r.federated_auc:.4f} | "
                f"{r.centralized_auc:.4f} | {r.auc_ratio:.4f} | {tr} | {r.accepted} | "
                f"{r.bad_accepted} | {r.paid_share:.3f} | {r.bad_owner_share:.4f} | "
                f"{worst[0]} {worst[1]:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    _main()
