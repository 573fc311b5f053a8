"""The simulation run: N owners through the real protocol, on a real chain, phase by phase.

Nothing is mocked. :func:`run_simulation` runs, each phase timed (:class:`.phases.PhaseClock`):

1. **chain**: a local Ganache / anvil (started on a free port, stopped by its PID at the end),
   ``--rpc URL``, or in-process eth-tester (:func:`.phases.open_chain`);
2. **data**: generated loans split among the lender and the owners, misbehaving owners' files
   rewritten, every file read back by the real loader (:mod:`.data`);
3. **training**: tasks, submissions and evaluations, close, reveal, audit, claims and
   withdrawals, gas and the escrow mirror (:mod:`.training`);
4. **centralized baseline**: scikit-learn on the seed + the honest owners arrived so far,
   after each arrival;
5. **valuation**: leave-one-out and Monte-Carlo Shapley values of the owners who sent data of
   their own (:mod:`hessian_common.rewards.valuation`);
6. **lending** (``scenario.borrowers > 0``): the closed primary model decides generated
   borrowers on a ``LoanBook`` on the same chain (:mod:`.lending`).
"""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from hessian_common.data.loader import load_file
from hessian_common.data.preprocess import Preprocessor
from hessian_common.learning.federated import centralized_baseline
from hessian_common.learning.metrics import predict_proba, score
from hessian_common.learning.prior import prior_of
from hessian_common.learning.spec import ModelSpec
from hessian_common.learning.updates import DEFAULT_PARAMS, build_update, newton_by_rows
from hessian_common.owner import update_params
from hessian_common.rewards.valuation import (
    SequentialUtility,
    leave_one_out,
    monte_carlo_shapley,
)
from hessian_common.simulation import misbehave
from hessian_common.simulation.data import load_owners, quick_centralized, write_data
from hessian_common.simulation.lending import LendingSetup, run_lending
from hessian_common.simulation.phases import NO_PROGRESS, PhaseClock, Progress, open_chain
from hessian_common.simulation.result import OwnerOutcome, SimulationResult
from hessian_common.simulation.scenario import OwnerPlan, Scenario, plan_owners
from hessian_common.simulation.training import (
    DEPOSIT_WEI,
    PlainView,
    TrainingOutcome,
    TrainingSetup,
    owner_params,
    plain_view,
    run_training,
)
from hessian_common.store import EmbeddedStore


def run_simulation(
    scenario: Scenario,
    *,
    chain: str = "ganache",
    rpc_url: str | None = None,
    progress: Progress | None = None,
    workdir: str | Path | None = None,
) -> SimulationResult:
    """Run ``scenario`` end to end and return everything measured.

    Parameters
    ----------
    scenario : Scenario
    chain : {"ganache", "anvil", "eth-tester"}
        Local chain to start when ``rpc_url`` is not given.
    rpc_url : str, optional
        An existing dev chain (its dev account 9 is the faucet).
    progress : Progress, optional
        Receives phase starts and steps (the CLI draws bars).
    workdir : path, optional
        Where data, journals, the store and the lender's state go (a temporary directory,
        deleted afterwards, by default).
    """
    bars = progress or NO_PROGRESS
    if workdir is not None:
        return _run(scenario, chain, rpc_url, bars, Path(workdir))
    with tempfile.TemporaryDirectory(prefix="hessian-sim-") as tmp:
        return _run(scenario, chain, rpc_url, bars, Path(tmp))


def _run(
    scenario: Scenario, chain_kind: str, rpc_url: str | None, bars: Progress, root: Path
) -> SimulationResult:
    clock = PhaseClock()
    cast = plan_owners(scenario)
    with clock.phase("chain + deploy"):
        chain = open_chain(chain_kind, rpc_url, root / "home")
    try:
        with clock.phase("data"):
            bars.start("data", 1)
            lender_path, paths = write_data(scenario, cast, root / "data")
            owners = load_owners(cast, paths)
            lender_data = load_file(lender_path)
            target = scenario.target
            if target is None:
                target = min(
                    0.999, quick_centralized(owners, cast, lender_data) + scenario.target_margin
                )
            bars.advance(note=f"{lender_data.rows} lender rows")
        store = EmbeddedStore(root / "store")
        setup = TrainingSetup(scenario, cast, chain, store, owners, lender_path, target, root)
        trained = run_training(setup, clock, bars)
        primary = trained.primary
        view = plain_view(
            store, trained.records[primary], trained.params[trained.records[primary].model_id]
        )
        with clock.phase("centralized baseline"):
            matrices = _matrices(owners, view.spec)
            central = centralized_curve(cast, matrices, view, bars)
        with clock.phase("valuation (LOO, Shapley)"):
            owners_out, perms = _valuation(scenario, cast, owners, trained, matrices, view, bars)
        lending = None
        if scenario.borrowers:
            lending = _lending(scenario, chain, trained, store, root, bars)
            clock.phases.update(lending.phases)
    finally:
        chain.stop()
    return SimulationResult(
        scenario=scenario.to_dict() | {"target_used": target},
        owners=owners_out,
        runs=list(trained.runs.values()),
        centralized_auc=central[-1],
        centralized_history=central,
        gas=trained.gas,
        phases=clock.phases,
        conditions={
            "cpus": os.cpu_count(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
            "machine": platform.machine(),
            "python": platform.python_version(),
            "chain": chain.kind,
            "key_bits": scenario.key_bits,
            "update_rule": view.spec.rule,
            "deposit_wei": str(DEPOSIT_WEI),
        },
        shapley_permutations=perms,
        lending=lending,
    )


def _matrices(owners: dict, spec: ModelSpec) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    prep = Preprocessor.from_dict(spec.preprocessing)
    return {
        i: (prep.transform(d.loaded.features), np.asarray(d.loaded.y)) for i, d in owners.items()
    }


def centralized_curve(
    cast: list[OwnerPlan],
    matrices: dict[int, tuple[np.ndarray, np.ndarray]],
    view: PlainView,
    bars: Progress,
) -> list[float]:
    """Centralized AUC on the seed + the honest owners arrived so far, after each arrival
    (the first entry: the seed alone, scikit-learn's logistic regression)."""
    bars.start("centralized baseline", len(cast) + 1)
    curve: list[float] = []
    pooled: list[tuple[np.ndarray, np.ndarray]] = []
    last = None
    for k in range(len(cast) + 1):
        if k > 0 and cast[k - 1].honest:
            pooled.append(matrices[cast[k - 1].index])
            last = None
        if last is None:
            if pooled:
                last = float(
                    centralized_baseline(
                        pooled, view.X_seed, view.y_seed, view.X_hold, view.y_hold
                    )["auc"]
                )
            else:
                m = LogisticRegression(max_iter=2000).fit(view.X_seed[:, 1:], view.y_seed)
                w = np.concatenate([m.intercept_, m.coef_.ravel()])
                last = float(score(view.y_hold, predict_proba(view.X_hold, w))["auc"])
        curve.append(last)
        bars.advance()
    return curve


def _valuation(
    scenario: Scenario,
    cast: list[OwnerPlan],
    owners: dict,
    trained: TrainingOutcome,
    matrices: dict[int, tuple[np.ndarray, np.ndarray]],
    view: PlainView,
    bars: Progress,
) -> tuple[list[OwnerOutcome], int]:
    """LOO and Shapley values of the owners whose submission carried data of their own."""
    primary = trained.runs[trained.primary]
    kind = {p.index: p.kind for p in cast}
    in_game = [
        s.owner
        for s in primary.submissions
        if s.update_id is not None and kind[s.owner] in misbehave.OWN_DATA
    ]
    loo = shap = err = np.zeros(len(in_game))
    perms = 0
    if scenario.shapley_permutations and in_game:
        updates, base_rows = valuation_updates(
            view.spec, [matrices[i] for i in in_game], owner_params(scenario)
        )
        utility = SequentialUtility(
            updates, view.w0, view.X_hold, view.y_hold, base_rows=base_rows
        )
        loo = leave_one_out(utility)
        bars.start("Shapley permutations", scenario.shapley_permutations)
        res = monte_carlo_shapley(
            utility,
            max_permutations=scenario.shapley_permutations,
            min_permutations=min(20, scenario.shapley_permutations),
            seed=scenario.seed,
            progress=lambda done, total: bars.advance(),
        )
        shap, err, perms = res.values, res.stderr, res.permutations
    pos = {idx: k for k, idx in enumerate(in_game)}
    out = []
    for plan in cast:
        d = owners[plan.index]
        k = pos.get(plan.index)
        out.append(
            OwnerOutcome(
                index=plan.index,
                name=plan.name,
                arrival=plan.arrival,
                kind=plan.kind,
                victim=plan.victim,
                address=trained.owner_accounts[plan.index],
                rows=int(d.loaded.rows),
                digest="0x" + d.loaded.digest().hex(),
                loo=float(loo[k]) if k is not None else 0.0,
                shapley=float(shap[k]) if k is not None else 0.0,
                shapley_stderr=float(err[k]) if k is not None else 0.0,
            )
        )
    return out, perms


def valuation_updates(
    spec: ModelSpec, data: list[tuple[np.ndarray, np.ndarray]], params: dict[str, float] | None
) -> tuple[list, int]:
    """Each owner's plaintext update for valuation, with the step the chain run applied.

    The parameters are the owner workflow's (:func:`hessian_common.owner.update_params`).
    A row-weighted Newton owner becomes a :class:`~hessian_common.learning.updates.
    NewtonByRows`, taken in each coalition at the rows the model holds there (the spec's
    seed rows + the rows of the owners before it); every other rule is a fixed map.
    Returns ``(updates, base_rows)``.
    """
    p = update_params(spec, accepted_rows=0, params=params)
    if spec.rule == "newton" and p.get("model_rows"):
        q = {**DEFAULT_PARAMS["newton"], **p}
        prior = prior_of(spec)
        updates = [
            newton_by_rows(X, y, mu=q["mu"], l2=q["l2"], floor=q["floor"], prior=prior)
            for X, y in data
        ]
        return updates, int(spec.seed_rows or 0)
    return [build_update(spec.rule, X, y, params=p) for X, y in data], 0


def _lending(scenario, chain, trained: TrainingOutcome, store, root: Path, bars: Progress):
    """The lending phase (:mod:`.lending`) on the primary model, on the same chain."""
    rec = trained.records[trained.primary]
    setup = LendingSetup(
        w3=chain.w3,
        lender=trained.lender,
        lender_client=trained.lender_client,
        repository_address=trained.repo.address,
        store=store,
        model_id=int(rec.model_id),
        mechanism=trained.primary.label,
        fund=chain.fund,
        root=root / "lending",
    )
    return run_lending(
        setup, scenario.borrowers, scenario.seed, scenario.lending_policy, progress=bars
    )
