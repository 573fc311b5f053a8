"""The simulation's training phase: owners and a lender through the real protocol, on chain.

Shaped like the lending phase (:mod:`.lending`): a :class:`TrainingSetup` in, the steps of
:class:`_TrainingPhase` each timed by the run's clock, a :class:`TrainingOutcome` out.

1. **deploy**: the lender's and every owner's account (deterministic keys) funded from the
   faucet; ``ModelRepository`` deployed.
2. **tasks**: the lender workflow (:class:`hessian_common.tasks.Lender`) posts one model per
   mechanism: preprocessing, Paillier keys, initial model, spec, ``createModel`` with the
   project's default terms (minimum paid gain = the hold-out's noise floor, stale reserve a
   tenth of the bounty, reveal window 14 days).
3. **submissions**: owners arrive one by one. An honest owner runs the owner workflow
   (:func:`hessian_common.owner.share`); a misbehaving one of a tampered kind its tampered
   client (:mod:`.tampered`). After each arrival the lender evaluates every waiting
   submission of the model in queue order (:meth:`Lender.evaluate_submission`: fetch, check
   signer and fields, decrypt, duplicates, the spec's acceptance rule, ``evaluateUpdate`` with
   a reason code). A lying lender (:mod:`.lying`) falsifies two of the records.
4. **settle**: close; reveal the test set and the decryption transcript (``revealTestSet``);
   audit every model as anyone would (:func:`hessian_common.tasks.audit_model`); owners claim
   EQUAL / PRO_RATA_GAIN shares and withdraw; the lender reclaims what is left.
5. **accounting**: gas per role from the receipts (:mod:`.gas`); the model's chain events
   replayed through the off-chain escrow (:func:`hessian_common.rewards.replay_events`), which
   must reproduce every amount and the escrow's balances.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.chain.client import ChainClient
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_repository
from hessian_common.chain.repository import Mechanism, ModelRepository, SubmissionStatus
from hessian_common.data.loader import load_file
from hessian_common.data.preprocess import Preprocessor
from hessian_common.errors import ConfigError
from hessian_common.journal import Journal
from hessian_common.learning.metrics import score_weights
from hessian_common.learning.prior import initial_model
from hessian_common.learning.spec import ModelSpec
from hessian_common.rewards.mechanisms import Evaluation, payouts, replay_events
from hessian_common.simulation import misbehave
from hessian_common.simulation.data import OwnerData
from hessian_common.simulation.gas import gas_by_role
from hessian_common.simulation.lying import LyingRepository
from hessian_common.simulation.phases import WEI_PER_ETH, Chain, PhaseClock, Progress, account
from hessian_common.simulation.result import AuditOutcome, MechanismOutcome, SubmissionOutcome
from hessian_common.simulation.scenario import OwnerPlan, Scenario
from hessian_common.simulation.tampered import FrontRunner, OwnerSide, honest_turn, tampered_turn
from hessian_common.tasks import (
    DEV_PASSPHRASE,
    Lender,
    LenderState,
    ModelRecord,
    TaskParams,
    audit_model,
    split_indices,
)
from hessian_common.types import from_ppm

OWNER_FUNDS_WEI = WEI_PER_ETH
"""Gas money per owner."""
DEPOSIT_WEI = WEI_PER_ETH // 100
"""Anti-spam deposit per submission (0.01 ETH)."""
DAY = 86_400


@dataclass
class TrainingSetup:
    """What the run hands the training phase."""

    scenario: Scenario
    cast: list[OwnerPlan]
    chain: Chain
    store: Any
    owners: dict[int, OwnerData]
    lender_path: Path
    target: float
    root: Path


@dataclass
class PlainView:
    """What only the lender sees in plaintext for one model: its seed rows, hold-out rows,
    initial weights and the spec."""

    X_seed: np.ndarray
    y_seed: np.ndarray
    X_hold: np.ndarray
    y_hold: np.ndarray
    w0: np.ndarray
    spec: ModelSpec


@dataclass
class TrainingOutcome:
    """What the training phase measured, and what the next phases need."""

    runs: dict[Mechanism, MechanismOutcome]
    records: dict[Mechanism, ModelRecord]
    gas: dict[str, dict[str, int]]
    lender: Lender
    lender_client: ChainClient
    repo: ModelRepository
    params: dict[int, TaskParams] = field(default_factory=dict)
    owner_accounts: dict[int, str] = field(default_factory=dict)
    faucet: str = ""

    @property
    def primary(self) -> Mechanism:
        """IMPROVEMENT if it ran, else the first mechanism."""
        return Mechanism.IMPROVEMENT if Mechanism.IMPROVEMENT in self.runs else next(
            iter(self.runs)
        )


def run_training(setup: TrainingSetup, clock: PhaseClock, bars: Progress) -> TrainingOutcome:
    """Run the training phase (module docstring); phases are timed on ``clock``."""
    phase = _TrainingPhase(setup, clock, bars)
    with clock.phase("chain + deploy"):
        phase.deploy()
    with clock.phase("task (keys, spec, createModel)"):
        phase.create_models()
    phase.submissions()
    with clock.phase("settle (close, reveal, audit, claims, withdrawals)"):
        phase.settle()
    with clock.phase("accounting (receipts, mirror)"):
        gas = phase.accounting()
    return TrainingOutcome(
        runs=phase.runs,
        records=phase.records,
        gas=gas,
        lender=phase.lender,
        lender_client=phase.lender_client,
        repo=phase.repo,
        params=phase.params,
        faucet=phase.faucet,
        owner_accounts={i: s.account.address for i, s in phase.sides.items()},
    )


class _TrainingPhase:
    """The steps of :func:`run_training`, sharing the chain, the lender and the owners."""

    def __init__(self, setup: TrainingSetup, clock: PhaseClock, bars: Progress) -> None:
        self.setup = setup
        self.sc = setup.scenario
        self.clock = clock
        self.bars = bars
        self.bounty = int(self.sc.bounty_eth * WEI_PER_ETH)
        self.runs: dict[Mechanism, MechanismOutcome] = {}
        self.records: dict[Mechanism, ModelRecord] = {}
        self.params: dict[int, TaskParams] = {}
        self.current: dict[int, float] = {}
        """Per model: hold-out score of the model on chain (the last accepted one)."""
        self.liar: LyingRepository | None = None

    # -- steps

    def deploy(self) -> None:
        """Accounts funded, ``ModelRepository`` deployed, the lender and owners connected."""
        sc, chain = self.sc, self.setup.chain
        self.bars.start("chain", 2 + len(self.setup.cast))
        lender_acct = account(sc.seed, "lender")
        owner_accts = {p.index: account(sc.seed, p.name) for p in self.setup.cast}
        self.lender_client = ChainClient(chain.w3, lender_acct)
        self.first_block = self.lender_client.block_number() + 1
        self.faucet = chain.fund(
            [lender_acct, *owner_accts.values()],
            [self.bounty * len(sc.mechanisms) + 10 * WEI_PER_ETH]
            + [OWNER_FUNDS_WEI] * len(owner_accts),
        )
        self.bars.advance(1 + len(owner_accts), note="accounts funded")
        self.artifact = load_artifact("ModelRepository")
        address = deploy_repository(
            self.lender_client, self.setup.root / "deployments", artifact=self.artifact
        )
        self.repo = ModelRepository(self.lender_client, address, self.artifact.abi)
        lender_repo: Any = self.repo
        if sc.lying_lender:
            self.liar = lender_repo = LyingRepository(self.repo)
        self.lender = Lender(
            lender_repo, self.setup.store, LenderState(self.setup.root / "company"), DEV_PASSPHRASE
        )
        self.sides = {
            p.index: OwnerSide(
                data=self.setup.owners[p.index],
                account=owner_accts[p.index],
                repo=self.repo.as_account(self.lender_client.with_account(owner_accts[p.index])),
                journal=Journal(self.setup.root / "owners" / p.name / "journal.sqlite"),
            )
            for p in self.setup.cast
        }
        self.bars.advance(note="contract deployed")

    def create_models(self) -> None:
        """One model per mechanism, posted by the lender workflow."""
        sc = self.sc
        self.bars.start("tasks", len(sc.mechanisms))
        lender_fraction = sc.seed_fraction + sc.holdout_fraction
        for mech in sc.mechanisms:
            params = TaskParams(
                name=f"simulation, {sc.owners} owners ({mech.label})",
                bounty_wei=self.bounty,
                metric="auc",
                target=round(float(self.setup.target), 6),
                mechanism=mech.label,
                deadline=self.lender_client.block_timestamp() + 30 * DAY,
                evaluation_window=DAY,
                deposit_wei=DEPOSIT_WEI,
                key_size=sc.key_bits,
                update_rule=sc.update_rule,
                hyper=dict(sc.hyper),
                data_path=self.setup.lender_path,
                holdout_fraction=sc.holdout_fraction / lender_fraction,
                split_seed=sc.seed,
            )
            rec = self.lender.create_task(params)
            info = self.repo.model(rec.model_id)
            self.params[rec.model_id] = params
            self.records[mech] = rec
            self.current[rec.model_id] = float(rec.initial_score)
            self.runs[mech] = MechanismOutcome(
                mechanism=mech.label,
                model_id=rec.model_id,
                bounty_wei=self.bounty,
                initial_score=float(rec.initial_score),
                target_score=float(rec.target),
                final_score=float(rec.initial_score),
                min_gain_ppm=int(info.min_gain),
            )
            self.bars.advance(note=mech.label)

    def submissions(self) -> None:
        """Owners arrive one by one; after each, the lender evaluates its models' queues."""
        cast = self.setup.cast
        self.bars.start("owners submit + lender evaluates", len(cast) * len(self.runs))
        pending: dict[tuple[int, int], SubmissionOutcome] = {}  # (front-runner, model) -> out
        watchers = {p.victim: p for p in cast if p.kind == "frontrun" and p.victim is not None}
        for plan in cast:
            side = self.sides[plan.index]
            for out in self.runs.values():
                with self.clock.phase("owners: encrypted update + submit"):
                    sub = self._turn(plan, side, out.model_id, watchers, pending)
                early = pending.get((plan.index, out.model_id))
                if plan.kind == "frontrun" and early is not None:
                    sub = early  # it copied a victim that arrived before it: recorded then
                else:
                    if plan.kind == "frontrun":
                        pending[(plan.index, out.model_id)] = sub
                    out.submissions.append(sub)
                with self.clock.phase("lender: decrypt, score, evaluate"):
                    self._evaluate_queue(out)
                sub.score_after = self.current[out.model_id]
                self.bars.advance(note=f"{plan.name} {plan.kind}: {sub.status}")

    def _turn(
        self,
        plan: OwnerPlan,
        side: OwnerSide,
        model_id: int,
        watchers: dict[int, OwnerPlan],
        pending: dict[tuple[int, int], SubmissionOutcome],
    ) -> SubmissionOutcome:
        """One owner's submission to one model (honest, tampered, or watched by a
        front-runner)."""
        params = owner_params(self.sc)
        if plan.kind in misbehave.TAMPERED:
            victim = self.sides.get(plan.victim) if plan.victim is not None else None
            return tampered_turn(side, victim, self.setup.store, model_id, params)
        watcher = watchers.get(plan.index)
        if watcher is None:
            return honest_turn(side, self.setup.store, model_id, params)

        def copied(mid: int, update_id: int | None, error: str | None) -> None:
            key = (watcher.index, mid)
            out = pending.get(key)
            if out is None:  # the watcher arrives after its victim: its copy is recorded now
                out = pending[key] = SubmissionOutcome(watcher.arrival, watcher.index, "idle")
                next(r for r in self.runs.values() if r.model_id == mid).submissions.append(out)
            out.update_id, out.error = update_id, error
            out.status = "waiting" if update_id is not None else "refused"
            out.rows = side.data.loaded.rows

        attacker = self.sides[watcher.index].repo
        watched = OwnerSide(side.data, side.account, FrontRunner(side.repo, attacker, copied),  # type: ignore[arg-type]
                            side.journal)  # fmt: skip
        return honest_turn(watched, self.setup.store, model_id, params)

    def _evaluate_queue(self, out: MechanismOutcome) -> None:
        """Evaluate every waiting submission of the model, in the contract's order."""
        subs = {s.update_id: s for s in out.submissions if s.update_id is not None}
        while head := self.repo.next_in_queue(out.model_id):
            ev = self.lender.evaluate_submission(head)
            info = self.repo.submission(head)  # what the chain recorded (a liar may differ)
            sub = subs.get(head)
            if info.status == SubmissionStatus.ACCEPTED:
                self.current[out.model_id] = float(ev.score)
            if sub is not None:
                sub.status = info.status.name.lower()
                sub.reason = info.reason.label if info.reason is not None else None
                sub.new_score = from_ppm(int(info.new_score))

    def settle(self) -> None:
        """Close, reveal and audit, claim shares, withdraw; rewards from the chain."""
        self.bars.start("settle", len(self.runs) * (3 + len(self.sides)))
        for mech, out in self.runs.items():
            model_id = out.model_id
            if self.repo.model(model_id).is_open:  # reaching the target closes it already
                self.lender.close(model_id)
            self.lender.reveal_test_set(model_id)
            self.bars.advance(note=f"{mech.label} closed and revealed")
            out.audit = self._audit(model_id)
            self.bars.advance(note=f"{mech.label} audited")
            if mech is not Mechanism.IMPROVEMENT:
                for s in out.submissions:  # claims in evaluation order
                    if s.update_id is not None and int(self.repo.share_of(s.update_id)) > 0:
                        self.sides[s.owner].repo.claim_share(s.update_id)
            chain_subs = {s.update_id: s for s in self.repo.submissions(model_id)}
            for s in out.submissions:
                if s.update_id is not None:
                    s.reward_wei = int(chain_subs[s.update_id].reward)
                out.rewards_wei[s.owner] = out.rewards_wei.get(s.owner, 0) + s.reward_wei
            for idx, side in self.sides.items():
                if int(side.repo.pending()) > 0:
                    out.withdrawn_wei[idx] = int(side.repo.withdraw())
                self.bars.advance()
            if int(self.repo.model(model_id).remaining) > 0:
                out.reclaimed_wei = int(self.lender.reclaim(model_id))
                if int(self.repo.pending()) > 0:
                    self.lender.withdraw()
            out.final_score = self.current[model_id]
            self.bars.advance(note=f"{mech.label} settled")

    def _audit(self, model_id: int) -> AuditOutcome:
        """Anyone's audit of the revealed model, and the lies the lender told (if it lied)."""
        report = audit_model(self.repo, self.setup.store, model_id)
        return AuditOutcome(
            model_id=model_id,
            ok=report.ok,
            checked=report.checked,
            matched=report.matched,
            unverifiable=report.unverifiable,
            mismatches=[
                {
                    "update_id": r.update_id,
                    "label": r.label,
                    "recorded": r.recorded,
                    "recomputed": r.recomputed,
                    "evidence": list(r.evidence),
                }
                for r in report.mismatches
            ],
            notes=list(report.notes),
            lies=[x for x in (self.liar.lies if self.liar else []) if x["model_id"] == model_id],
        )

    def accounting(self) -> dict[str, dict[str, int]]:
        """Gas per role from the receipts; the escrow mirror against the chain."""
        last_block = self.lender_client.block_number()
        roles = {self.lender_client.address.lower(): "lender", str(self.faucet).lower(): "faucet"}
        for p in self.setup.cast:
            role = "honest owners" if p.honest else "misbehaving owners"
            roles[self.sides[p.index].account.address.lower()] = role
        gas = gas_by_role(
            self.setup.chain.w3, self.first_block, last_block, roles, self.artifact.abi
        )
        events = self.repo.events()
        for out in self.runs.values():
            self._mirror(out, events)
        return gas

    def _mirror(self, out: MechanismOutcome, events: list[Any]) -> None:
        """Replay the model's events through the off-chain escrow; compare every amount and
        the balances; and what every other mechanism would have paid for the same run."""
        escrow, diffs = replay_events(events, out.model_id)
        chain_subs = self.repo.submissions(out.model_id)
        for s in chain_subs:
            if escrow.amount(s.update_id) != int(s.reward):
                diffs.append(
                    f"update #{s.update_id}: chain {int(s.reward)}, mirror "
                    f"{escrow.amount(s.update_id)}"
                )
        chain_escrow = self.repo.escrow(out.model_id)
        out.escrow_mirror = escrow.balances()
        out.escrow_chain = {k: int(chain_escrow[k]) for k in out.escrow_mirror}
        if out.escrow_chain != out.escrow_mirror:
            diffs.append(f"escrow: chain {out.escrow_chain}, mirror {out.escrow_mirror}")
        out.mirror_diffs = diffs
        out.mirror_matches_chain = not diffs
        info = self.repo.model(out.model_id)
        by_addr = {s.account.address.lower(): i for i, s in self.sides.items()}
        evs = [
            Evaluation(
                owner=str(by_addr.get(str(s.owner).lower(), -1)),
                rows=int(s.rows),
                accepted=s.status == SubmissionStatus.ACCEPTED,
                new_score=int(s.new_score),
            )
            for s in chain_subs
            if s.status != SubmissionStatus.WAITING
        ]
        for m in Mechanism:
            p = payouts(
                m, int(info.bounty), int(info.initial_score), int(info.target_score), evs,
                min_gain=int(info.min_gain), stale_reward=int(info.stale_reward),
            )  # fmt: skip
            out.mirror_wei[m.label] = {int(k): v for k, v in p.by_owner.items()}



def plain_view(store: Any, rec: ModelRecord, params: TaskParams) -> PlainView:
    """Seed rows, hold-out rows, initial weights and spec of a model, as the lender computed
    them (re-derived with its split, the spec's preprocessing and the learning room's initial
    model; the initial score is checked against the record)."""
    spec = ModelSpec.from_bytes(store.get(rec.spec_cid))
    data = load_file(params.data_path)
    y = np.asarray(data.y).astype(int)
    seed_idx, hold_idx = split_indices(y, params.holdout_fraction, params.split_seed)
    prep = Preprocessor.from_dict(spec.preprocessing)
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
    return PlainView(X_seed, y_seed, X_hold, y_hold, w0, spec)


def owner_params(scenario: Scenario) -> dict[str, float] | None:
    """What an owner overrides in the rule parameters (``owner.share(params=...)``).

    Nothing by default: the owner workflow itself weighs a Newton owner's rows against the
    rows the model holds (:func:`hessian_common.owner.update_params`), exactly as the
    data-owner app does. With ``scenario.owners_pass_model_rows`` off, owners take the plain
    ``μ`` step (``model_rows = 0``).
    """
    if scenario.update_rule == "newton" and not scenario.owners_pass_model_rows:
        return {"model_rows": 0.0}
    return None

