"""The simulation's insurance product: a claims model trained by N owners sells policies to M
generated customers on a real PolicyBook, and a policy year runs on chain.

Nothing is mocked. :func:`run_insurance` runs, each phase timed:

1. **chain**: a local Ganache / anvil, ``--rpc URL`` or eth-tester (:func:`.phases.open_chain`);
   a ``ModelRepository`` and a ``PolicyBook`` linked to it;
2. **data**: generated motor policies (:func:`hessian_common.data.insurance.generate_policies`,
   seed ``[seed, 31]``): the insurer keeps ``insurer_fraction`` of them (its seed rows, its
   hold-out, its claims file), the owners share the rest equally; every file is written in the
   policy system's export format and read back by the real loader;
3. **training**: the insurer's task (``insurance_claims`` schema, Newton rule), one encrypted
   update per owner through the owner workflow, evaluated and closed
   (:func:`hessian_common.products.training.train_with_owner_files`);
4. **deploy**: the :class:`~hessian_common.insurance.underwriting.InsuranceDesk` calibrates the
   claims model on its hold-out, fits the severity from its claims file, publishes the pricing
   rule, ``deployModel``; the insurer deposits capital: the coverage asked by every customer
   (so every quote can be bought: a policy's whole limit is reserved from the pool);
5. **sales**: ``M`` customers (seed ``[seed, 32]``, each its own funded account) apply with the
   application of their generated row (:func:`~hessian_common.insurance.application.
   application_from_row`), the desk quotes or declines each as its rule says, and every quoted
   customer pays the premium (cover starts at once);
6. **policy year**: the outcomes are the generator's truth for each customer's row: a claim
   when the accident's ground-up loss ``S`` exceeds the deductible ``D``, for
   ``min(S, L) − D`` dollars (in base units, at most what the policy pays), filed at the
   row's claim day scaled to the policy's term on chain. Time moves in steps of
   ``step_days``; after each step the claims due are filed (with an evidence blob on the
   store), the insurer approves the open claims within their window except
   ``round(unanswered × claims)`` of them (at least one when ``unanswered > 0``; chosen with
   seed ``[seed, 33]``) it leaves unanswered, and anyone settles a claim left past its
   window. After each step the pool is checked against the chain::

       pool_ok  =  free ≥ 0,  reserved = Σ reserves of ACTIVE policies,
                   every ACTIVE policy's reserve ≥ what it still pays,
                   contract balance ≥ free + reserved + premiums held + Σ pending

   ``pool_never_short`` is that check at every step (sales and decisions included);
7. **settlement**: every policy is expired after its term (anyone may), premiums collected,
   the insurer withdraws its free capital and premiums: its **return** is
   ``(received − deposited) / deposited`` on the capital it put in for the year.

Figures (:class:`InsuranceOutcome`): the claim frequency predicted (the recorded claim
probability) against realised (policies with a paid claim) and the truth's
(:func:`~hessian_common.data.insurance.true_claim_probability`) by decile of the prediction;
``loss_ratio`` = claims paid / premiums against ``target_loss_ratio`` = Σ EL / Σ premium (the
pricing rule's: :func:`hessian_common.insurance.pricing.quote`), claims paid (count, amount),
claims settled unanswered, ``pool_never_short``, the insurer's return.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.simulation.phases import (
    NO_PROGRESS,
    PhaseClock,
    Progress,
    account,
    advance_time,
    open_chain,
)

DAY = 86_400
CUSTOMER_GAS_WEI = 5 * 10**16
"""Gas money of each customer (on top of its premium)."""
INSURER_GAS_WEI = 5 * 10**18
"""The insurer's bounty and gas money (its capital is sent when the customers are known)."""


@dataclass
class InsuranceScenario:
    """What one insurance run does (see the module docstring)."""

    owners: int = 5
    customers: int = 200
    rows: int = 12_000
    insurer_fraction: float = 0.3
    holdout_fraction: float = 0.6
    """Share of the insurer's policies kept as its hold-out (the rest: its seed rows)."""
    seed: int = 7
    key_bits: int = 2048
    dollars_per_eth: str = "50000"
    """The pricing rule's token price: a $15,000 limit reserves 0.3 ETH."""
    unanswered: float = 0.1
    """Share of the claims the insurer leaves unanswered (then settled by anyone)."""
    step_days: int = 30

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CustomerOutcome:
    """One customer: the prediction, the decision, what happened."""

    index: int
    address: str
    policy_id: int
    vehicle_type: str
    true_probability: float
    claim_probability: float = 0.0
    quoted: bool = False
    bought: bool = False
    premium: int = 0
    coverage_limit: int = 0
    expected_loss: float = 0.0
    """The rule's expected loss, dollars (0 unless quoted)."""
    premium_dollars: float = 0.0
    claim_due: bool = False
    """The truth: an accident whose loss exceeds the deductible during the term."""
    claim_amount: int = 0
    claim_id: int = 0
    claim_status: str = ""
    paid: int = 0


@dataclass
class InsuranceOutcome:
    """What :func:`run_insurance` measured (JSON-safe through :meth:`to_dict`)."""

    scenario: dict[str, Any]
    model_id: int
    policybook: str
    auc: float
    calibration: dict[str, Any]
    customers: list[CustomerOutcome]
    deciles: list[dict[str, Any]]
    premiums: int
    claims_paid: int
    claims_paid_count: int
    claims_settled_unanswered: int
    claims_filed: int
    loss_ratio: float
    target_loss_ratio: float
    capital_deposited: int
    insurer_received: int
    insurer_return: float
    pool_never_short: bool
    pool_checks: int
    timeline: list[dict[str, Any]] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The figures ``hessian simulate --product insurance --json`` prints."""
        bought = [c for c in self.customers if c.bought]
        return {
            "customers": len(self.customers),
            "quoted": sum(c.quoted for c in self.customers),
            "bought": len(bought),
            "claim_frequency_predicted": _mean([c.claim_probability for c in bought]),
            "claim_frequency_realised": _mean([float(c.paid > 0) for c in bought]),
            "claim_frequency_by_decile": self.deciles,
            "loss_ratio": self.loss_ratio,
            "target_loss_ratio": self.target_loss_ratio,
            "claims_paid": self.claims_paid_count,
            "claims_paid_eth": self.claims_paid / 10**18,
            "premiums_eth": self.premiums / 10**18,
            "claims_settled_unanswered": self.claims_settled_unanswered,
            "pool_never_short": self.pool_never_short,
            "pool_checks": self.pool_checks,
            "insurer_return": self.insurer_return,
            "auc": self.auc,
            "phases_s": {k: round(v, 1) for k, v in self.phases.items()},
        }

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else float("nan")


def decile_table(
    predicted: np.ndarray, realised: np.ndarray, truth: np.ndarray, groups: int = 10
) -> list[dict[str, Any]]:
    """Claim frequency by decile of the prediction: ``[{"decile", "policies",
    "predicted", "realised", "truth"}]`` (means; deciles of equal count, ties kept together
    by a stable sort; fewer groups when there are fewer policies)."""
    predicted = np.asarray(predicted, dtype=float)
    n = len(predicted)
    if n == 0:
        return []
    order = np.argsort(predicted, kind="stable")
    out = []
    for k, idx in enumerate(np.array_split(order, min(groups, n)), start=1):
        if len(idx) == 0:
            continue
        out.append(
            {
                "decile": k,
                "policies": len(idx),
                "predicted": float(np.mean(predicted[idx])),
                "realised": float(np.mean(np.asarray(realised, dtype=float)[idx])),
                "truth": float(np.mean(np.asarray(truth, dtype=float)[idx])),
            }
        )
    return out


def run_insurance(
    scenario: InsuranceScenario,
    *,
    chain: str = "ganache",
    rpc_url: str | None = None,
    progress: Progress | None = None,
    workdir: str | Path | None = None,
) -> InsuranceOutcome:
    """Run ``scenario`` end to end (module docstring); what it measured."""
    bars = progress or NO_PROGRESS
    if workdir is not None:
        return _InsuranceRun(scenario, bars, Path(workdir)).run(chain, rpc_url)
    with tempfile.TemporaryDirectory(prefix="hessian-sim-insurance-") as tmp:
        return _InsuranceRun(scenario, bars, Path(tmp)).run(chain, rpc_url)


class _InsuranceRun:
    """The steps of :func:`run_insurance`, sharing the chain, the desk and the checks."""

    def __init__(self, scenario: InsuranceScenario, bars: Progress, root: Path) -> None:
        self.s = scenario
        self.bars = bars
        self.root = root
        self.clock = PhaseClock()
        self.pool_ok = True
        self.pool_checks = 0
        self.timeline: list[dict[str, Any]] = []

    # -------------------------------------------------------------- the run

    def run(self, chain_kind: str, rpc_url: str | None) -> InsuranceOutcome:
        with self.clock.phase("insurance: chain + deploy"):
            self.chain = open_chain(chain_kind, rpc_url, self.root / "home")
        try:
            with self.clock.phase("insurance: chain + deploy"):
                self.setup_contracts()
            with self.clock.phase("insurance: data"):
                insurer_path, owner_paths = self.write_data()
            with self.clock.phase("insurance: training"):
                model_id = self.train(insurer_path, owner_paths)
            with self.clock.phase("insurance: deploy the claims model"):
                deployed = self.desk.deploy(
                    model_id, self.pricing(), claims=insurer_path, progress=None
                )
            with self.clock.phase("insurance: sales"):
                customers = self.sell(model_id)
            with self.clock.phase("insurance: policy year"):
                self.policy_year(model_id, customers)
            with self.clock.phase("insurance: settlement"):
                received = self.settle(model_id, customers)
            return self.outcome(model_id, deployed, customers, received)
        finally:
            self.chain.stop()

    def setup_contracts(self) -> None:
        from hessian_common.chain import ChainClient
        from hessian_common.chain.deploy import deploy_repository
        from hessian_common.chain.policybook import PolicyBook, deploy_policybook
        from hessian_common.chain.repository import ModelRepository
        from hessian_common.insurance.underwriting import InsuranceDesk
        from hessian_common.store import EmbeddedStore
        from hessian_common.tasks import Lender, LenderState

        self.bars.start("insurance: deploy", 1)
        self.insurer = account(self.s.seed, "insurer")
        self.chain.fund([self.insurer], [INSURER_GAS_WEI])
        self.client = ChainClient(self.chain.w3, self.insurer)
        deployments = self.root / "deployments"
        repo_address = deploy_repository(self.client, deployments)
        self.repo = ModelRepository(self.client, repo_address)
        self.book = PolicyBook(
            self.client, deploy_policybook(self.client, repo_address, deployments)
        )
        self.store = EmbeddedStore(self.root / "store")
        self.lender = Lender(
            self.repo, self.store, LenderState(self.root / "insurer"), "simulation-insurer"
        )
        self.desk = InsuranceDesk(self.lender, self.book)
        self.bars.advance(note=f"PolicyBook {self.book.address}")

    def pricing(self) -> Any:
        from hessian_common.insurance.pricing import PricingPolicy

        return PricingPolicy(token_price=str(self.s.dollars_per_eth))

    def write_data(self) -> tuple[Path, list[Path]]:
        from hessian_common.data.insurance import generate_policies, write_policies

        s = self.s
        self.bars.start("insurance: data", 1)
        rng = np.random.default_rng([s.seed, 31])
        frame = generate_policies(int(s.rows), rng)
        order = rng.permutation(len(frame))
        n_ins = round(len(frame) * s.insurer_fraction)
        out = self.root / "data"
        out.mkdir(parents=True, exist_ok=True)
        insurer_path = out / "insurer.csv"
        write_policies(frame.iloc[order[:n_ins]].reset_index(drop=True), insurer_path)
        paths = []
        for k, idx in enumerate(np.array_split(order[n_ins:], s.owners), start=1):
            path = out / f"owner_{k:02d}.csv"
            write_policies(frame.iloc[idx].reset_index(drop=True), path)
            paths.append(path)
        self.bars.advance(note=f"{n_ins} insurer rows, {s.owners} owners")
        return insurer_path, paths

    def train(self, insurer_path: Path, owner_paths: list[Path]) -> int:
        from hessian_common.products.training import train_with_owner_files
        from hessian_common.tasks import TaskParams

        s = self.s
        owners = [account(s.seed, f"claims-owner-{k}") for k in range(1, s.owners + 1)]
        self.chain.fund(owners, [10**18] * len(owners))
        params = TaskParams(
            name="Simulation: motor claims",
            bounty_wei=10**18,
            metric="auc",
            target=0.95,
            mechanism="improvement",
            deadline=int(self.client.block_timestamp()) + 30 * DAY,
            evaluation_window=3 * DAY,
            key_size=int(s.key_bits),
            update_rule="newton",
            hyper={"mu": 0.5},
            data_path=insurer_path,
            holdout_fraction=float(s.holdout_fraction),
            schema="insurance_claims",
        )
        self.bars.start("insurance: training", s.owners + 1)

        def say(message: str) -> None:
            self.bars.advance(note=message)

        pairs = list(zip(owner_paths, owners, strict=True))
        return train_with_owner_files(self.lender, params, pairs, self.root / "owners", say)

    # -------------------------------------------------------------- sales

    def sell(self, model_id: int) -> list[dict[str, Any]]:
        """Customers apply, the desk decides, quoted customers pay the premium."""
        from hessian_common.chain import ChainClient
        from hessian_common.data.insurance import generate_policies, true_claim_probability
        from hessian_common.insurance import customer as flow
        from hessian_common.insurance.application import application_from_row

        s = self.s
        rows = generate_policies(int(s.customers), np.random.default_rng([s.seed, 32]))
        truth = true_claim_probability(rows)
        accounts = [account(s.seed, f"customer-{i}") for i in range(s.customers)]
        price = float(s.dollars_per_eth)
        # a premium is at most p·(L − D)·(1 + θ) + e < 0.45·L at the default rule
        need = [
            CUSTOMER_GAS_WEI + int(10**18 * (0.45 * float(r.coverage_limit) + 100) / price)
            for r in rows.itertuples()
        ]
        self.chain.fund(accounts, need)
        self.capital = sum(
            self.pricing().to_units(int(r.coverage_limit), 18, "down") for r in rows.itertuples()
        )
        self.chain.fund([self.insurer], [int(self.capital)])
        self.desk.deposit(model_id, int(self.capital))
        self.check_pool(model_id, "capital deposited")
        self.bars.start("insurance: sales", s.customers)
        out = []
        for i, (acct, (_, row)) in enumerate(zip(accounts, rows.iterrows(), strict=True)):
            book = self.book.as_account(ChainClient(self.chain.w3, acct))
            app = application_from_row(row.to_dict())
            pid = flow.apply(book, self.store, model_id, app)
            out.append(
                {
                    "book": book,
                    "row": row,
                    "outcome": CustomerOutcome(
                        i, acct.address, pid, app.vehicle_type, float(truth[i])
                    ),
                }
            )
            self.bars.advance()
        self.desk.decide_all_pending(model_id)
        self.check_pool(model_id, "quotes sent")
        for c in out:
            o: CustomerOutcome = c["outcome"]
            view = self.desk.application(o.policy_id)
            info = view.policy
            o.claim_probability = info.claim_probability
            o.quoted = info.premium > 0
            if view.decision is not None and o.quoted:
                o.expected_loss = float(view.decision.quote.expected_loss)
                o.premium_dollars = float(view.decision.quote.premium_dollars)
            if o.quoted:
                flow.accept(c["book"], o.policy_id)
                o.bought = True
                o.premium = int(info.premium)
                o.coverage_limit = int(info.coverage_limit)
        self.check_pool(model_id, "policies bought")
        return out

    # -------------------------------------------------------------- the year

    def policy_year(self, model_id: int, customers: list[dict[str, Any]]) -> None:
        """Claims from the generator's truth, decided or left unanswered, settled."""
        from hessian_common.insurance import customer as flow
        from hessian_common.insurance.pricing import to_units
        from hessian_common.insurance.underwriting import term_seconds

        s = self.s
        rng = np.random.default_rng([s.seed, 33])
        due: list[tuple[int, dict[str, Any]]] = []
        for c in customers:
            o: CustomerOutcome = c["outcome"]
            row = c["row"]
            loss, ded = float(row["loss"]), float(row["deductible"])
            o.claim_due = bool(row["accident"]) and loss > ded
            if not (o.bought and o.claim_due):
                continue
            info = self.book.policy(o.policy_id)
            dollars = min(loss, float(row["coverage_limit"])) - ded
            units = to_units(f"{dollars:.2f}", s.dollars_per_eth, 18, "down")
            o.claim_amount = int(min(units, info.max_claim))
            frac = float(rng.random())
            at = info.starts_at + int(frac * term_seconds(int(row["policy_term"])))
            due.append((at, c))
        due.sort(key=lambda t: t[0])
        # exactly round(share × claims) of them (at least one when the share is not 0)
        n_silent = min(len(due), max(round(s.unanswered * len(due)), int(s.unanswered > 0)))
        picked = rng.choice(len(due), size=n_silent, replace=False) if n_silent else []
        silent = {due[int(k)][1]["outcome"].policy_id for k in picked}
        end = max([self.book.policy(c["outcome"].policy_id).expires_at for c in customers
                   if c["outcome"].bought] or [self.client.block_timestamp()])  # fmt: skip
        steps = int((end - self.client.block_timestamp()) // (s.step_days * DAY)) + 3
        self.bars.start("insurance: policy year", steps)
        k = 0
        for _ in range(steps):
            now = advance_time(self.chain.w3, s.step_days * DAY)
            while k < len(due) and due[k][0] <= now:
                c = due[k][1]
                o = c["outcome"]
                k += 1
                if o.claim_amount <= 0 or not self.book.in_force(o.policy_id):
                    continue
                o.claim_id = flow.file_claim(
                    c["book"], self.store, o.policy_id, o.claim_amount,
                    evidence=f"claim of policy {o.policy_id}: loss {c['row']['loss']}".encode(),
                )  # fmt: skip
            for view in self.desk.claims("open", model_id):
                if view.decidable and view.claim.policy_id not in silent:
                    self.desk.approve_claim(view.claim_id)
                elif view.settleable:
                    holder = next(
                        c["book"]
                        for c in customers
                        if c["outcome"].policy_id == view.policy.policy_id
                    )
                    flow.settle(holder, view.claim_id)
            self.check_pool(model_id, f"day {(now - self.timeline[0]['time']) // DAY}")
            self.bars.advance(note=f"{k} of {len(due)} claims filed")
        # the last claims' windows
        advance_time(self.chain.w3, self.book.claim_window + DAY)
        for view in self.desk.claims("open", model_id):
            holder = next(
                c["book"] for c in customers if c["outcome"].policy_id == view.policy.policy_id
            )
            flow.settle(holder, view.claim_id)
        self.check_pool(model_id, "last claims settled")

    def settle(self, model_id: int, customers: list[dict[str, Any]]) -> int:
        """Expire every policy, collect premiums, withdraw free capital and premiums; what
        the insurer received."""
        from hessian_common.chain.policybook import PolicyStatus

        for c in customers:
            o: CustomerOutcome = c["outcome"]
            if not o.bought:
                continue
            info = self.book.policy(o.policy_id)
            if info.status == PolicyStatus.ACTIVE:
                if not info.premium_earned:
                    self.book.collect_premium(o.policy_id)
                self.book.expire(o.policy_id)
            claims = self.book.claims(policy_id=o.policy_id)
            o.paid = sum(int(x.amount) for x in claims if x.status.paid)
            o.claim_status = claims[-1].status.label if claims else ""
        self.check_pool(model_id, "policies expired")
        free = self.book.pool(model_id).free
        if free:
            self.book.withdraw_capital(model_id, int(free))
        received = int(self.book.pending())
        if received:
            self.book.withdraw()
        self.check_pool(model_id, "capital withdrawn")
        return received

    # -------------------------------------------------------------- checks

    def check_pool(self, model_id: int, label: str) -> bool:
        """The pool against the chain (module docstring); recorded on the timeline."""
        from hessian_common.chain.policybook import PolicyStatus

        pool = self.book.pool(model_id)
        policies = self.book.policies(model_id=model_id)
        active = [p for p in policies if p.status == PolicyStatus.ACTIVE]
        reserved = sum(int(p.reserve) for p in active)
        covers = all(int(p.reserve) >= int(p.max_claim) for p in active)
        balance = int(self.chain.w3.eth.get_balance(self.book.address))
        owed = int(self.book.total_pending())
        ok = (
            pool.free >= 0
            and pool.reserved == reserved
            and covers
            and balance >= pool.free + pool.reserved + pool.premiums_held + owed
        )
        self.pool_ok = self.pool_ok and ok
        self.pool_checks += 1
        bought = (PolicyStatus.ACTIVE, PolicyStatus.EXPIRED)
        premiums = sum(int(p.premium) for p in policies if p.status in bought)
        paid = sum(int(p.claims_paid) for p in policies)
        self.timeline.append(
            {
                "label": label,
                "time": int(self.client.block_timestamp()),
                "free": int(pool.free),
                "reserved": int(pool.reserved),
                "premiums": premiums,
                "claims_paid": paid,
                "ok": bool(ok),
            }
        )
        return ok

    # -------------------------------------------------------------- figures

    def outcome(
        self, model_id: int, deployed: Any, customers: list[dict[str, Any]], received: int
    ) -> InsuranceOutcome:
        from hessian_common.chain.policybook import ClaimStatus
        from hessian_common.learning.metrics import score

        outs = [c["outcome"] for c in customers]
        bought = [o for o in outs if o.bought]
        claims = [x for o in bought for x in self.book.claims(policy_id=o.policy_id)]
        premiums = sum(o.premium for o in bought)
        paid = sum(o.paid for o in bought)
        el = sum(o.expected_loss for o in bought)
        prem_dollars = sum(o.premium_dollars for o in bought)
        predicted = np.array([o.claim_probability for o in bought])
        realised = np.array([float(o.paid > 0) for o in bought])
        truth = np.array([o.true_probability for o in bought])
        every = np.array([o.claim_probability for o in outs])
        due = np.array([float(o.claim_due) for o in outs])
        auc = float(score(due, every)["auc"]) if 0 < due.sum() < len(due) else float("nan")
        cal = deployed.calibration
        capital = int(self.capital)
        return InsuranceOutcome(
            scenario=self.s.to_dict(),
            model_id=int(model_id),
            policybook=str(self.book.address),
            auc=auc,
            calibration={
                "chosen": cal.chosen,
                "raw_ece": cal.raw.ece,
                "calibrated_ece": cal.calibrated.ece,
                "holdout_rows": cal.raw.rows,
                "holdout_claim_rate": cal.raw.default_rate,
            },
            customers=outs,
            deciles=decile_table(predicted, realised, truth),
            premiums=premiums,
            claims_paid=paid,
            claims_paid_count=sum(1 for x in claims if x.status.paid),
            claims_settled_unanswered=sum(1 for x in claims if x.status == ClaimStatus.SETTLED),
            claims_filed=len(claims),
            loss_ratio=paid / premiums if premiums else float("nan"),
            target_loss_ratio=el / prem_dollars if prem_dollars else float("nan"),
            capital_deposited=capital,
            insurer_received=int(received),
            insurer_return=(received - capital) / capital if capital else float("nan"),
            pool_never_short=bool(self.pool_ok),
            pool_checks=int(self.pool_checks),
            timeline=self.timeline,
            phases=self.clock.phases,
            conditions={
                "cpus": os.cpu_count(),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                "chain": self.chain.kind,
                "key_bits": self.s.key_bits,
                "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            },
        )


__all__ = [
    "CustomerOutcome",
    "InsuranceOutcome",
    "InsuranceScenario",
    "decile_table",
    "run_insurance",
]
