"""The simulation run loop: N owners through the real protocol, on a real chain.

Nothing is mocked. Per run:

1. **chain**: start a local Ganache (the chain room's node helper, on a free port, stopped by
   its PID at the end), or use ``--rpc URL``, or an in-process eth-tester chain; deploy
   ``ModelRepository``; fund a lender account and one fresh account per owner from a faucet.
2. **data**: the data room's generator draws the loans and splits them (``iid`` / ``state`` /
   ``grade``) into the lender's data and one share per owner; misbehaving owners rewrite
   theirs (:mod:`.misbehave`); every file is written in the real export layout.
3. **task**: the lender workflow (:mod:`hessian_common.tasks`) posts one model per mechanism:
   preprocessing, Paillier keys, initial model, spec in the content store, ``createModel``.
4. **submissions**: owners arrive one by one. An owner runs the owner workflow
   (:func:`hessian_common.owner.share`: validate, encrypted update, journal, store,
   ``submitUpdate``); the lender evaluates each submission at once
   (:func:`hessian_common.tasks.evaluate_submission`: decrypt, score on the hold-out,
   accept/reject, ``evaluateUpdate``). ``replay`` and ``copy`` owners run a *tampered* client
   that skips the honest client's replay checks and calls ``submitUpdate`` directly, so it is
   the contract that has to refuse them.
5. **settle**: the lender closes each model, owners claim EQUAL / PRO_RATA_ROWS shares and
   withdraw, the lender reclaims what is left.
6. **baseline** and **valuation**: the centralized scikit-learn baseline after each arrival
   (pooled honest data), and leave-one-out + Monte-Carlo Shapley values of the owners
   (:mod:`hessian_common.rewards.valuation`).
7. **lending** (``scenario.borrowers > 0``): the closed primary model is deployed on a
   ``LoanBook`` on the same chain and decides ``borrowers`` generated applicants, whose loans
   then run to repayment or default on chain (:mod:`.lending`).

Wall-clock is measured per phase; gas per role comes from the receipts (:mod:`.gas`).
"""

from __future__ import annotations

import hashlib
import os
import platform
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from hessian_common.errors import ChainError, ConfigError, ContractRevert, HessianError
from hessian_common.rewards.mechanisms import Evaluation as MirrorEvaluation
from hessian_common.rewards.mechanisms import Mechanism, payouts
from hessian_common.rewards.valuation import (
    SequentialUtility,
    leave_one_out,
    monte_carlo_shapley,
)
from hessian_common.simulation import misbehave
from hessian_common.simulation.gas import gas_by_role
from hessian_common.simulation.result import (
    WEI_PER_ETH,
    MechanismOutcome,
    OwnerOutcome,
    SimulationResult,
    SubmissionOutcome,
)
from hessian_common.simulation.scenario import OwnerPlan, Scenario, plan_owners

OWNER_FUNDS_WEI = WEI_PER_ETH  # gas money per owner
DEPOSIT_WEI = WEI_PER_ETH // 100  # anti-spam deposit per submission (0.01 ETH)
DAY = 86_400


class Progress(Protocol):
    """What the run reports to (the CLI's progress bars)."""

    def start(self, phase: str, total: int | None) -> None:  # pragma: no cover - protocol
        """A phase begins with ``total`` steps."""

    def advance(self, n: int = 1, note: str | None = None) -> None:  # pragma: no cover
        """``n`` steps done."""


class _Silent:
    def start(self, phase: str, total: int | None) -> None:
        return None

    def advance(self, n: int = 1, note: str | None = None) -> None:
        return None


class PhaseClock:
    """Wall-clock per phase (phases may be entered several times; times add up)."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _account(seed: int, label: str) -> Any:
    """A deterministic throw-away account for one simulated party."""
    from eth_account import Account

    key = hashlib.sha256(f"hessian-simulation/{seed}/{label}".encode()).digest()
    return Account.from_key(key)


@dataclass
class _Chain:
    """The chain of one run and how to stop it."""

    w3: Any
    kind: str
    settings: Any = None  # set when we started a node (stop it by its PID file)

    def stop(self) -> None:
        if self.settings is not None:
            from hessian_common.chain.node import stop_node

            stop_node(self.settings)
            self.settings = None


def _open_chain(kind: str, rpc_url: str | None, home: Path) -> _Chain:
    from hessian_common.chain.client import connect, eth_tester_web3

    if rpc_url:
        return _Chain(connect(rpc_url), "rpc")
    if kind == "eth-tester":
        return _Chain(eth_tester_web3(), "eth-tester")
    if kind not in ("ganache", "anvil"):
        raise ConfigError(f"chain must be ganache, anvil or eth-tester, not {kind!r}")
    from hessian_common.chain.node import start_node
    from hessian_common.config import load_settings

    settings = load_settings(home=home)
    node = start_node(kind, port=_free_port(), settings=settings)
    chain = _Chain(None, kind, settings)
    try:
        chain.w3 = connect(node.url)
    except HessianError:
        chain.stop()
        raise
    return chain


def _fund(chain: _Chain, accounts: list[Any], amounts: list[int]) -> Any:
    """Send each account its amount from a faucet; returns the faucet's address."""
    from hessian_common.chain.client import ChainClient, dev_account

    if chain.kind == "eth-tester":
        w3 = chain.w3
        faucet = w3.eth.accounts[0]
        for acct, amount in zip(accounts, amounts, strict=True):
            tx = w3.eth.send_transaction({"from": faucet, "to": acct.address, "value": amount})
            w3.eth.wait_for_transaction_receipt(tx)
        return faucet
    faucet = ChainClient(chain.w3, dev_account(9))
    need = sum(amounts)
    if faucet.balance() < need:
        raise ChainError(
            f"faucet {faucet.address} holds {faucet.balance() / WEI_PER_ETH:.2f} ETH, the run "
            f"needs {need / WEI_PER_ETH:.2f} ETH (is {chain.w3.provider} a dev chain?)"
        )
    for acct, amount in zip(accounts, amounts, strict=True):
        faucet.send_value(acct.address, amount)
    return faucet.address


# ------------------------------------------------------------------------------ data


@dataclass
class _OwnerData:
    plan: OwnerPlan
    path: Path
    loaded: Any  # LoadedData


def _write_data(scenario: Scenario, cast: list[OwnerPlan], root: Path) -> tuple[Path, list]:
    """Generate and split the loans; write the lender's file and every owner's file."""
    from hessian_common.data.generator import generate_loans, split_frame, write_export

    rng = np.random.default_rng([scenario.seed, 3])
    frame = generate_loans(int(scenario.rows), rng)
    lender_fraction = scenario.seed_fraction + scenario.holdout_fraction
    parts = split_frame(
        frame,
        scenario.owners,
        rng,
        partition=scenario.partition,
        holdout_fraction=lender_fraction,
        seed_fraction=0.0,
    )
    root.mkdir(parents=True, exist_ok=True)
    lender_path = root / "lender.csv"
    write_export(parts["lender_holdout"], lender_path, "original")
    shares = {i: parts[f"owner_{i + 1:02d}"] for i in range(scenario.owners)}
    kind_rng = np.random.default_rng([scenario.seed, 5])
    written: dict[int, Path] = {}
    for plan in cast:
        path = root / f"{plan.name}.csv"
        own = shares[plan.index]
        if plan.kind == "honest":
            write_export(own, path, "original")
        elif plan.kind == "label_flip":
            write_export(misbehave.label_flip(own), path, "original")
        elif plan.kind == "noise":
            write_export(misbehave.noise(own, kind_rng), path, "original")
        elif plan.kind == "tiny":
            write_export(misbehave.tiny(own, kind_rng, scenario.tiny_rows), path, "original")
        elif plan.kind == "replay":
            path.write_bytes(written[plan.victim].read_bytes())
        elif plan.kind == "copy":
            write_export(misbehave.reshuffled_copy(shares[plan.victim], kind_rng), path, "original")
        written[plan.index] = path
    return lender_path, [written[p.index] for p in cast]


# ------------------------------------------------------------------------------ the run


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
    bars = progress or _Silent()
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
        bars.start("chain", 3 + scenario.owners)
        chain = _open_chain(chain_kind, rpc_url, root / "home")
    try:
        return _run_on_chain(scenario, cast, chain, bars, root, clock)
    finally:
        chain.stop()


def _run_on_chain(
    scenario: Scenario,
    cast: list[OwnerPlan],
    chain: _Chain,
    bars: Progress,
    root: Path,
    clock: PhaseClock,
) -> SimulationResult:
    from hessian_common import lender as lender_mod
    from hessian_common import owner as owner_mod
    from hessian_common.chain.client import ChainClient
    from hessian_common.chain.compile import load_artifact
    from hessian_common.chain.deploy import deploy_repository
    from hessian_common.chain.repository import ModelRepository
    from hessian_common.data.loader import load_file
    from hessian_common.journal import Journal
    from hessian_common.store import EmbeddedStore

    w3 = chain.w3
    bounty = int(scenario.bounty_eth * WEI_PER_ETH)
    with clock.phase("chain + deploy"):
        bars.advance(note="connected")
        lender_acct = _account(scenario.seed, "lender")
        owner_accts = {p.index: _account(scenario.seed, p.name) for p in cast}
        lender_client = ChainClient(w3, lender_acct)
        first_block = lender_client.block_number() + 1
        faucet = _fund(
            chain,
            [lender_acct, *owner_accts.values()],
            [bounty * len(scenario.mechanisms) + 10 * WEI_PER_ETH]
            + [OWNER_FUNDS_WEI] * len(owner_accts),
        )
        bars.advance(1 + len(owner_accts), note="accounts funded")
        artifact = load_artifact("ModelRepository")
        address = deploy_repository(lender_client, root / "deployments", artifact=artifact)
        repo = ModelRepository(lender_client, address, artifact.abi)
        bars.advance(note="contract deployed")
    store = EmbeddedStore(root / "store")

    with clock.phase("data"):
        bars.start("data", len(cast) + 1)
        lender_path, paths = _write_data(scenario, cast, root / "data")
        owner_data = {}
        for plan, path in zip(cast, paths, strict=True):
            owner_data[plan.index] = _OwnerData(plan, path, load_file(path))
            bars.advance()
        lender_loaded = load_file(lender_path)
        bars.advance(note=f"{lender_loaded.rows} lender rows")

    lender = _LenderSide(lender_mod, repo, store, root / "company", scenario, lender_path)
    with clock.phase("task (keys, spec, createModel)"):
        bars.start("tasks", len(scenario.mechanisms))
        target = scenario.target
        if target is None:
            target = min(
                0.999, _quick_centralized(owner_data, cast, lender_loaded) + scenario.target_margin
            )
        models = {}
        for mech in scenario.mechanisms:
            models[mech] = lender.create(mech, bounty, target)
            bars.advance(note=mech.label)

    outcomes = {
        mech: MechanismOutcome(
            mechanism=mech.label,
            model_id=rec.model_id,
            bounty_wei=bounty,
            initial_score=float(rec.initial_score),
            target_score=float(rec.target),
            final_score=float(rec.initial_score),
        )
        for mech, rec in models.items()
    }
    journals = {p.index: Journal(root / "owners" / p.name / "journal.sqlite") for p in cast}
    owner_repos = {
        p.index: repo.as_account(lender_client.with_account(owner_accts[p.index])) for p in cast
    }

    bars.start("owners submit + lender evaluates", len(cast) * len(models))
    for plan in cast:
        data = owner_data[plan.index]
        for mech, rec in models.items():
            out = outcomes[mech]
            with clock.phase("owners: encrypted update + submit"):
                sub = _owner_turn(
                    owner_mod,
                    plan,
                    data,
                    rec.model_id,
                    store,
                    owner_repos[plan.index],
                    journals[plan.index],
                    owner_accts[plan.index].address,
                    params=_owner_params(scenario),
                )
            if sub.update_id is not None:
                with clock.phase("lender: decrypt, score, evaluate"):
                    ev = lender.evaluate(rec.model_id, sub.update_id)
                sub.status = "accepted" if ev.accepted else "rejected"
                sub.new_score = float(ev.score)
            sub.score_after = lender.current_score(rec.model_id)
            out.submissions.append(sub)
            bars.advance(note=f"{plan.name} {plan.kind}: {sub.status}")

    with clock.phase("settle (close, claims, withdrawals)"):
        bars.start("settle", len(models) * (2 + len(cast)))
        for mech, rec in models.items():
            _settle(repo, owner_repos, rec.model_id, mech, outcomes[mech], lender, bars)
        last_block = lender_client.block_number()

    with clock.phase("accounting (receipts, mirror)"):
        roles = {lender_acct.address.lower(): "lender", str(faucet).lower(): "faucet"}
        for p in cast:
            roles[owner_accts[p.index].address.lower()] = (
                "honest owners" if p.honest else "misbehaving owners"
            )
        gas = gas_by_role(w3, first_block, last_block, roles, artifact.abi)
        for mech, rec in models.items():
            _mirror_check(repo, rec.model_id, mech, outcomes[mech], owner_accts)

    primary_mech = Mechanism.IMPROVEMENT if Mechanism.IMPROVEMENT in models else next(iter(models))
    with clock.phase("centralized baseline"):
        bars.start("centralized baseline", len(cast) + 1)
        X_seed, y_seed, X_hold, y_hold, w0, spec = lender.plain_view(models[primary_mech])
        prep = _preprocessor(spec)
        matrices = {
            i: (prep.transform(d.loaded.features), np.asarray(d.loaded.y))
            for i, d in owner_data.items()
        }
        central_hist = _centralized_curve(cast, matrices, X_seed, y_seed, X_hold, y_hold, bars)

    owners_out = []
    shap_perms = 0
    with clock.phase("valuation (LOO, Shapley)"):
        primary = outcomes[primary_mech]
        in_game = [s.owner for s in primary.submissions if s.update_id is not None]
        loo = np.zeros(len(in_game))
        shap = np.zeros(len(in_game))
        err = np.zeros(len(in_game))
        if scenario.shapley_permutations and in_game:
            updates, base_rows = _valuation_updates(
                spec, [matrices[i] for i in in_game], _owner_params(scenario)
            )
            utility = SequentialUtility(updates, w0, X_hold, y_hold, base_rows=base_rows)
            loo = leave_one_out(utility)
            bars.start("Shapley permutations", scenario.shapley_permutations)
            res = monte_carlo_shapley(
                utility,
                max_permutations=scenario.shapley_permutations,
                min_permutations=min(20, scenario.shapley_permutations),
                seed=scenario.seed,
                progress=lambda done, total: bars.advance(),
            )
            shap, err, shap_perms = res.values, res.stderr, res.permutations
        pos = {idx: k for k, idx in enumerate(in_game)}
        for plan in cast:
            d = owner_data[plan.index]
            k = pos.get(plan.index)
            owners_out.append(
                OwnerOutcome(
                    index=plan.index,
                    name=plan.name,
                    arrival=plan.arrival,
                    kind=plan.kind,
                    victim=plan.victim,
                    address=owner_accts[plan.index].address,
                    rows=int(d.loaded.rows),
                    digest="0x" + d.loaded.digest().hex(),
                    loo=float(loo[k]) if k is not None else 0.0,
                    shapley=float(shap[k]) if k is not None else 0.0,
                    shapley_stderr=float(err[k]) if k is not None else 0.0,
                )
            )

    lending_out = None
    if scenario.borrowers:
        lending_out = _lending_phase(
            scenario, chain, lender, repo, store, lender_client, models[primary_mech],
            primary_mech, root, bars,
        )  # fmt: skip
        clock.phases.update(lending_out.phases)

    conditions = {
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "chain": chain.kind,
        "key_bits": scenario.key_bits,
        "update_rule": spec.rule,
        "deposit_wei": str(DEPOSIT_WEI),
    }
    return SimulationResult(
        scenario=scenario.to_dict() | {"target_used": target},
        owners=owners_out,
        runs=list(outcomes.values()),
        centralized_auc=central_hist[-1],
        centralized_history=central_hist,
        gas=gas,
        phases=clock.phases,
        conditions=conditions,
        shapley_permutations=shap_perms,
        lending=lending_out,
    )


def _lending_phase(
    scenario: Scenario,
    chain: _Chain,
    lender: _LenderSide,
    repo: Any,
    store: Any,
    lender_client: Any,
    rec: Any,
    mech: Mechanism,
    root: Path,
    bars: Progress,
) -> Any:
    """The lending phase (:mod:`.lending`) on the primary model, on the same chain."""
    from hessian_common.simulation.lending import LendingSetup, run_lending

    setup = LendingSetup(
        w3=chain.w3,
        lender=lender.lender,
        lender_client=lender_client,
        repository_address=repo.address,
        store=store,
        model_id=int(rec.model_id),
        mechanism=mech.label,
        fund=lambda accounts, amounts: _fund(chain, accounts, amounts),
        root=root / "lending",
    )
    return run_lending(
        setup, scenario.borrowers, scenario.seed, scenario.lending_policy, progress=bars
    )


def _ppm(value: int) -> float:
    return int(value) / 1_000_000


def _preprocessor(spec: Any) -> Any:
    from hessian_common.data.preprocess import Preprocessor

    return Preprocessor.from_dict(spec.preprocessing)


def _quick_centralized(owner_data: dict, cast: list[OwnerPlan], lender_loaded: Any) -> float:
    """Centralized AUC estimate the lender uses to pick a target (before the task exists)."""
    from hessian_common.data.preprocess import Preprocessor
    from hessian_common.learning.federated import centralized_baseline

    prep = Preprocessor("lending_club").fit(lender_loaded.features)
    X_l = prep.transform(lender_loaded.features)
    y_l = np.asarray(lender_loaded.y)
    rng = np.random.default_rng(0)
    hold = rng.random(len(y_l)) < 0.7
    honest = [
        (prep.transform(owner_data[p.index].loaded.features), owner_data[p.index].loaded.y)
        for p in cast
        if p.honest
    ]
    return float(centralized_baseline(honest, X_l[~hold], y_l[~hold], X_l[hold], y_l[hold])["auc"])


def _centralized_curve(cast, matrices, X_seed, y_seed, X_hold, y_hold, bars) -> list[float]:
    """Centralized AUC on the seed + the honest owners arrived so far, after each arrival."""
    from hessian_common.learning.federated import centralized_baseline
    from hessian_common.learning.metrics import predict_proba, score

    curve = []
    pooled: list[tuple[np.ndarray, np.ndarray]] = []
    last = None
    for k in range(len(cast) + 1):
        if k > 0 and cast[k - 1].honest:
            pooled.append(matrices[cast[k - 1].index])
            last = None
        if last is None:
            if pooled:
                last = float(centralized_baseline(pooled, X_seed, y_seed, X_hold, y_hold)["auc"])
            else:
                from sklearn.linear_model import LogisticRegression

                m = LogisticRegression(max_iter=2000).fit(X_seed[:, 1:], y_seed)
                w = np.concatenate([m.intercept_, m.coef_.ravel()])
                last = float(score(y_hold, predict_proba(X_hold, w))["auc"])
        curve.append(last)
        bars.advance()
    return curve


def _owner_params(scenario: Scenario) -> dict[str, float] | None:
    """What an owner overrides in the rule parameters (``owner.share(params=...)``).

    Nothing by default: the owner workflow itself weighs a Newton owner's rows against the
    rows the model holds (the spec's ``seed_rows`` + the contract's ``acceptedRows``,
    :func:`hessian_common.owner.update_params`), exactly as the data-owner app does. With
    ``scenario.owners_pass_model_rows`` off, owners take the plain ``μ`` step
    (``model_rows = 0``).
    """
    if scenario.update_rule == "newton" and not scenario.owners_pass_model_rows:
        return {"model_rows": 0.0}
    return None


def _valuation_updates(
    spec: Any, data: list[tuple[np.ndarray, np.ndarray]], params: dict[str, float] | None
) -> tuple[list[Any], int]:
    """Each owner's plaintext update for valuation, with the step the chain run applied.

    The parameters are the owner workflow's (:func:`hessian_common.owner.update_params`).
    A row-weighted Newton owner becomes a :class:`~hessian_common.learning.updates.
    NewtonByRows`, taken in each coalition at the rows the model holds there (the spec's
    seed rows + the rows of the owners before it); every other rule is a fixed map.
    Returns ``(updates, base_rows)``.
    """
    from hessian_common.learning.prior import prior_of
    from hessian_common.learning.updates import DEFAULT_PARAMS, build_update, newton_by_rows
    from hessian_common.owner import update_params

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


def _owner_turn(
    owner_mod: Any,
    plan: OwnerPlan,
    data: _OwnerData,
    model_id: int,
    store: Any,
    repo: Any,
    journal: Any,
    address: str,
    params: dict[str, float] | None = None,
) -> SubmissionOutcome:
    """One owner's submission to one model; never raises for a refusal (it is recorded)."""
    sub = SubmissionOutcome(arrival=plan.arrival, owner=plan.index, status="refused")
    if plan.kind in misbehave.NEEDS_VICTIM:
        # A tampered client: no journal, no replay check, straight to submitUpdate.
        model = owner_mod.get_model(repo, store, model_id)
        validation = owner_mod.validate_for_model(data.path, model.spec)
        current, base_cid = owner_mod.current_weights(store, model)
        blob = owner_mod.prepare_update(
            model.spec,
            current,
            validation.data,
            model_id=model_id,
            base_cid=base_cid,
            params=params,
            accepted_rows=model.accepted_rows,
        )
        cid = store.put(blob.to_bytes())
        try:
            sub.update_id = int(
                repo.submit_update(model_id, cid, validation.digest, validation.rows)
            )
            sub.status = "waiting"
        except ContractRevert as exc:
            sub.error = exc.error_name or str(exc)
        return sub
    try:
        entry = owner_mod.share(
            journal,
            store,
            repo,
            model=model_id,
            path=data.path,
            owner=address,
            label=plan.name,
            params=params,
        )
    except HessianError as exc:
        sub.error = f"{type(exc).__name__}: {exc}"
        return sub
    if entry.update_id is not None:
        sub.update_id = int(entry.update_id)
        sub.status = "waiting"
    else:
        sub.error = entry.last_error or str(entry.state)
    return sub


def _settle(repo, owner_repos, model_id, mech, out: MechanismOutcome, lender, bars) -> None:
    """Close, claim shares, withdraw everything; fill in rewards from the chain."""
    lender.close(model_id)
    bars.advance(note=f"{mech.label} closed")
    subs = {s.update_id: s for s in repo.submissions(model_id)}
    if mech is not Mechanism.IMPROVEMENT:
        for s in out.submissions:  # claims in evaluation order (the mirror assumes the same)
            if s.status == "accepted":
                owner_repos[s.owner].claim_share(s.update_id)
        subs = {s.update_id: s for s in repo.submissions(model_id)}
    for s in out.submissions:
        if s.update_id is not None:
            s.reward_wei = int(subs[s.update_id].reward)
            out.rewards_wei[s.owner] = out.rewards_wei.get(s.owner, 0) + s.reward_wei
        else:
            out.rewards_wei.setdefault(s.owner, 0)
    for idx, orepo in owner_repos.items():
        if int(orepo.pending()) > 0:
            out.withdrawn_wei[idx] = int(orepo.withdraw())
        bars.advance()
    out.reclaimed_wei = lender.reclaim(model_id)
    out.final_score = lender.current_score(model_id)
    bars.advance(note=f"{mech.label} settled")


def _mirror_check(repo, model_id, mech, out: MechanismOutcome, owner_accts) -> None:
    """Replay the chain's evaluations through the off-chain mirror of every mechanism."""
    info = repo.model(model_id)
    subs = [s for s in repo.submissions(model_id) if int(s.status) != 0]
    by_addr = {a.address.lower(): i for i, a in owner_accts.items()}
    evs = [
        MirrorEvaluation(
            owner=str(by_addr.get(str(s.owner).lower(), -1)),
            rows=int(s.rows),
            accepted=int(s.status) == 1,
            new_score=int(s.new_score),
        )
        for s in subs
    ]
    for m in Mechanism:
        p = payouts(m, int(info.bounty), int(info.initial_score), int(info.target_score), evs)
        out.mirror_wei[m.label] = {int(k): v for k, v in p.by_owner.items()}
        if m is mech:
            out.mirror_matches_chain = p.rewards == [int(s.reward) for s in subs]


class _LenderSide:
    """The lender of the simulation: a :class:`hessian_common.tasks.Lender`, plus what only
    the lender can see in plaintext (its seed data, hold-out and initial weights)."""

    def __init__(self, mod, repo, store, state_dir: Path, scenario: Scenario, data_path: Path):
        self.mod = mod
        self.scenario = scenario
        self.data_path = data_path
        self.repo = repo
        self.store = store
        self.lender = mod.Lender(repo, store, mod.LenderState(state_dir), mod.DEV_PASSPHRASE)
        self.params: dict[int, Any] = {}

    def create(self, mech: Mechanism, bounty: int, target: float) -> Any:
        sc = self.scenario
        lender_fraction = sc.seed_fraction + sc.holdout_fraction
        params = self.mod.TaskParams(
            name=f"simulation, {sc.owners} owners ({mech.label})",
            bounty_wei=bounty,
            metric="auc",
            target=round(float(target), 6),
            mechanism=mech.label,
            deadline=self.repo.client.block_timestamp() + 30 * DAY,
            evaluation_window=DAY,
            deposit_wei=DEPOSIT_WEI,
            key_size=sc.key_bits,
            update_rule=sc.update_rule,
            hyper=dict(sc.hyper),
            data_path=self.data_path,
            holdout_fraction=sc.holdout_fraction / lender_fraction,
            split_seed=sc.seed,
        )
        rec = self.lender.create_task(params)
        self.params[rec.model_id] = params
        return rec

    def current_score(self, model_id: int) -> float:
        """Hold-out score of the current model (the last accepted one). The chain's
        ``currentScore`` is the best score accepted so far, which the lender's rule may have
        left behind: it accepts an update that is not significantly worse."""
        return float(self.lender.record(model_id).current_score)

    def evaluate(self, model_id: int, update_id: int) -> Any:
        return self.lender.evaluate_submission(update_id)

    def close(self, model_id: int) -> None:
        if self.repo.model(model_id).is_open:  # reaching the target closes it already
            self.lender.close(model_id)

    def reclaim(self, model_id: int) -> int:
        if int(self.repo.model(model_id).remaining) == 0:
            return 0
        amount = int(self.lender.reclaim(model_id))
        if int(self.repo.pending()) > 0:
            self.lender.withdraw()
        return amount

    def plain_view(self, rec: Any):
        """Seed rows, hold-out rows, initial weights and spec, as the lender computed them.

        Re-derived with the lender's own split (:func:`hessian_common.tasks.split_indices`),
        the spec's preprocessing and the learning room's initial model (the spec's curvature
        prior, :func:`~hessian_common.learning.prior.initial_model`); the hold-out score of
        ``w0`` is checked against the recorded initial score.
        """
        from hessian_common.data.loader import load_file
        from hessian_common.learning.metrics import score_weights
        from hessian_common.learning.prior import initial_model
        from hessian_common.learning.spec import ModelSpec

        spec = ModelSpec.from_bytes(self.store.get(rec.spec_cid))
        params = self.params[rec.model_id]
        data = load_file(self.data_path)
        y = np.asarray(data.y).astype(int)
        seed_idx, hold_idx = self.mod.split_indices(y, params.holdout_fraction, params.split_seed)
        prep = _preprocessor(spec)
        X_seed = prep.transform(data.features.iloc[seed_idx].reset_index(drop=True))
        X_hold = prep.transform(data.features.iloc[hold_idx].reset_index(drop=True))
        y_seed, y_hold = y[seed_idx], y[hold_idx]
        w0, _ = initial_model(X_seed, y_seed, X_hold, l2=float(dict(spec.params).get("l2", 1e-4)))
        auc0 = float(score_weights(X_hold, y_hold, w0)["auc"])
        if abs(auc0 - float(rec.initial_score)) > 1e-6:
            raise ConfigError(
                f"re-derived initial model scores {auc0:.6f}, the lender recorded "
                f"{rec.initial_score:.6f}: the simulation's plaintext view is out of step"
            )
        return X_seed, y_seed, X_hold, y_hold, w0, spec
