"""Off-chain mirror of the contract's escrow and its three reward mechanisms.

``ModelRepository.sol`` pays data owners from the lender's escrowed bounty by one of three
mechanisms, fixed when the model is created. :class:`Escrow` replays, in Python and with the
contract's integer arithmetic (wei, scores in parts per million, integer division rounding
down), every call that moves money: ``submitUpdate`` (the stale reserve), ``evaluateUpdate``,
``settleStale``, ``closeModel`` / finalisation, ``claimShare``, ``claimForfeit`` and
``reclaim``. The simulation feeds it the chain's own event log and checks that every amount and
the escrow's balances come out equal (tests/simulation/test_run.py); :func:`payouts` is the
short form for a list of submissions each evaluated as it arrives (the offline replay).

The rules, for a model with bounty ``B``, initial score ``s0``, target ``T``, minimum paid gain
``g_min`` (ppm) and stale reward ``R``:

- **stale reserve**: each submission sets aside ``min(R, remaining − reserved)`` when it is
  made; the reserve goes back when the lender evaluates it, and is paid (with the deposit) if
  anyone settles it as stale after the evaluation window.
- **paid gain**: an accepted submission that raises the best score so far ``s`` to ``s'`` is
  *paid* when ``s' − s >= max(g_min, 1)``; any other accepted submission raises the best score
  (if higher) but earns nothing, and a rejected one earns nothing.
- ``IMPROVEMENT``: a paid submission earns ``min(remaining − reserved, B·(s' − s) // (T − s0))``
  at once. An accepted score ``>= T`` closes the model.
- ``EQUAL``: when the model is finalised (closed, nothing waiting) what remains becomes the
  pool ``P``; each of the ``k`` paid submissions claims ``P // k``.
- ``PRO_RATA_GAIN``: as EQUAL, each paid submission with gain ``g`` claims
  ``P · g // Σg``.

  In both share mechanisms the *last* claim takes ``P − claimed`` (the rounding dust), so the
  pool is paid out exactly; amounts depend on the claim order, which the mirror takes as given.
- **forfeit**: a lender that misses the reveal deadline forfeits what remains: it is split
  equally among the rejected submissions (among all when none was rejected), the last claim
  taking the dust.

The escrow invariant holds after every call: ``paid + owed + remaining + reclaimed == B``.
Everything here is O(1) per call, as in the contract.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hessian_common.chain.repository import Mechanism, default_stale_reward
from hessian_common.errors import ConfigError


@dataclass(frozen=True)
class Evaluation:
    """One submission as the lender evaluated it, in evaluation order (:func:`payouts`).

    Attributes
    ----------
    owner : str
        The submitting owner (an address, or any label).
    rows : int
        Rows declared in ``submitUpdate`` (never paid for; kept for reports).
    accepted : bool
        The lender's verdict.
    new_score : int
        Score (ppm) of the candidate model; becomes the best score when accepted and higher.
    """

    owner: str
    rows: int
    accepted: bool
    new_score: int


@dataclass
class _Sub:
    owner: str
    rows: int
    amount: int = 0
    """While waiting: the stale reserve; afterwards what it was paid (as the contract)."""
    status: str = "waiting"
    gain: int = 0
    stale: bool = False
    claimed: bool = False


@dataclass
class Escrow:
    """The contract's escrow of one model, call by call (module docstring).

    Submissions are keyed by any hashable the caller chooses (the chain's update id in the
    simulation). Every method raises :class:`ConfigError` where the contract would revert.
    """

    mechanism: Mechanism
    bounty: int
    initial: int
    target: int
    min_gain: int = 0
    stale_reward: int | None = None
    remaining: int = field(init=False)
    reserved: int = field(init=False, default=0)
    current: int = field(init=False)
    paid: int = field(init=False, default=0)
    pool: int = field(init=False, default=0)
    claimed: int = field(init=False, default=0)
    reclaimed: int = field(init=False, default=0)
    paid_count: int = field(init=False, default=0)
    claimed_count: int = field(init=False, default=0)
    rejected_count: int = field(init=False, default=0)
    total_gain: int = field(init=False, default=0)
    is_open: bool = field(init=False, default=True)
    finalized: bool = field(init=False, default=False)
    forfeited: bool = field(init=False, default=False)
    closed_at_target: bool = field(init=False, default=False)
    subs: dict[object, _Sub] = field(init=False, default_factory=dict)
    queue: list[object] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.mechanism = Mechanism.parse(self.mechanism)
        _check(self.bounty, self.initial, self.target)
        if not 0 <= self.min_gain < self.target - self.initial:
            raise ConfigError(
                f"minimum gain {self.min_gain} must be in [0, {self.target - self.initial})"
            )
        if self.stale_reward is None:
            self.stale_reward = default_stale_reward(self.bounty)
        if not 0 < self.stale_reward <= self.bounty:
            raise ConfigError(f"stale reward {self.stale_reward} must be in (0, bounty]")
        self.remaining = self.bounty
        self.current = self.initial

    # ------------------------------------------------------------ the contract's calls

    def submit(self, key: object, owner: str, rows: int = 1, min_reserve: int = 0) -> int:
        """``submitUpdate``: queue ``key`` and set its stale reserve aside; returns it."""
        if not self.is_open:
            raise ConfigError("the model takes no more submissions (ModelNotOpen)")
        if key in self.subs:
            raise ConfigError(f"submission {key!r} already exists")
        reserve = min(int(self.stale_reward or 0), self.remaining - self.reserved)
        if reserve < min_reserve:
            raise ConfigError(f"stale reserve {reserve} below {min_reserve} (ReserveTooLow)")
        self.reserved += reserve
        self.subs[key] = _Sub(str(owner), int(rows), amount=reserve)
        self.queue.append(key)
        return reserve

    def evaluate(self, key: object, accepted: bool, new_score: int) -> int:
        """``evaluateUpdate`` of the head of the queue; returns the reward credited now."""
        s = self._dequeue(key)
        reward = 0
        if accepted:
            s.status = "accepted"
            best = self.current
            if new_score > best:
                self.current = int(new_score)
                if new_score - best >= self.min_gain:
                    reward = self._pay(s, int(new_score) - best)
        else:
            s.status = "rejected"
            self.rejected_count += 1
        if self.is_open:
            if accepted and new_score >= self.target:
                self.closed_at_target = True
                self.close()
        elif not self.queue:
            self._finalize()
        return reward

    def settle_stale(self, key: object) -> int:
        """``settleStale`` of the head of the queue: its reserve is paid; returns it."""
        s = self._subs(key)
        reward = s.amount
        self._dequeue(key)
        s.amount = reward
        self.remaining -= reward
        self.paid += reward
        s.status, s.stale = "accepted", True
        if not self.is_open and not self.queue:
            self._finalize()
        return reward

    def close(self) -> None:
        """``closeModel`` (or reaching the target): finalise at once if nothing waits."""
        if not self.is_open:
            raise ConfigError("the model is already closed (ModelNotOpen)")
        self.is_open = False
        if not self.queue:
            self._finalize()

    def claim_share(self, key: object) -> int:
        """``claimShare`` (EQUAL / PRO_RATA_GAIN, after finalisation); returns the amount."""
        s = self._subs(key)
        if self.mechanism is Mechanism.IMPROVEMENT:
            raise ConfigError("IMPROVEMENT has no shares (NoShares)")
        if s.gain == 0:
            raise ConfigError(f"submission {key!r} was not paid (NotPaid)")
        if not self.finalized:
            raise ConfigError("the model is not finalised")
        if s.claimed:
            raise ConfigError(f"submission {key!r} already claimed (AlreadyClaimed)")
        if self.claimed_count + 1 == self.paid_count:
            amount = self.pool - self.claimed
        elif self.mechanism is Mechanism.EQUAL:
            amount = self.pool // self.paid_count
        else:
            amount = self.pool * s.gain // self.total_gain
        s.claimed, s.amount = True, amount
        self._take(amount)
        return amount

    def claim_forfeit(self, key: object) -> int:
        """``claimForfeit`` after a missed reveal deadline; returns the amount."""
        s = self._subs(key)
        if not self.finalized:
            raise ConfigError("the model is not finalised")
        if not self.forfeited:
            if self.remaining == 0:
                raise ConfigError("nothing to forfeit (NothingToForfeit)")
            self.forfeited = True
            self.pool, self.remaining = self.remaining, 0
        if self.rejected_count > 0 and s.status != "rejected":
            raise ConfigError(f"submission {key!r} was not rejected (NotRejected)")
        if s.claimed:
            raise ConfigError(f"submission {key!r} already claimed (AlreadyClaimed)")
        shares = self.rejected_count or len(self.subs)
        last = self.claimed_count + 1 == shares
        amount = self.pool - self.claimed if last else self.pool // shares
        s.claimed = True
        s.amount += amount
        self._take(amount)
        return amount

    def reclaim(self) -> int:
        """``reclaim``: what remains goes back to the lender; returns it."""
        if not self.finalized:
            raise ConfigError("the model is not finalised (SubmissionsWaiting / ModelStillOpen)")
        amount = self.remaining
        if amount == 0:
            raise ConfigError("nothing to reclaim (NothingToReclaim)")
        self.remaining = 0
        self.reclaimed += amount
        return amount

    # ------------------------------------------------------------ reads

    def amount(self, key: object) -> int:
        """What submission ``key`` was paid (0 while it waits)."""
        s = self._subs(key)
        return 0 if s.status == "waiting" else s.amount

    def balances(self) -> dict[str, int]:
        """``escrowOf``'s money fields: bounty, paid, owed, remaining, reclaimed."""
        return {
            "bounty": self.bounty,
            "paid": self.paid + self.claimed,
            "owed": self.pool - self.claimed,
            "remaining": self.remaining,
            "reclaimed": self.reclaimed,
        }

    def by_owner(self) -> dict[str, int]:
        """Total paid per owner."""
        out: dict[str, int] = {}
        for key, s in self.subs.items():
            out[s.owner] = out.get(s.owner, 0) + self.amount(key)
        return out

    # ------------------------------------------------------------ internals

    def _subs(self, key: object) -> _Sub:
        try:
            return self.subs[key]
        except KeyError:
            raise ConfigError(f"unknown submission {key!r} (UnknownSubmission)") from None

    def _dequeue(self, key: object) -> _Sub:
        s = self._subs(key)
        if s.status != "waiting":
            raise ConfigError(f"submission {key!r} is not waiting (NotWaiting)")
        if self.queue[0] != key:
            raise ConfigError(f"submission {key!r} is not next; {self.queue[0]!r} is (OutOfOrder)")
        self.queue.pop(0)
        self.reserved -= s.amount
        s.amount = 0
        return s

    def _pay(self, s: _Sub, gain: int) -> int:
        s.gain = gain
        self.paid_count += 1
        if self.mechanism is not Mechanism.IMPROVEMENT:
            self.total_gain += gain
            return 0
        reward = min(
            self.bounty * gain // (self.target - self.initial), self.remaining - self.reserved
        )
        self.remaining -= reward
        self.paid += reward
        s.amount = reward
        return reward

    def _finalize(self) -> None:
        self.finalized = True
        if self.mechanism is not Mechanism.IMPROVEMENT and self.paid_count > 0:
            self.pool, self.remaining = self.remaining, 0

    def _take(self, amount: int) -> None:
        self.claimed_count += 1
        self.claimed += amount


@dataclass
class Payout:
    """What a mechanism paid, per submission (same order as the evaluations) and in total."""

    mechanism: Mechanism
    bounty: int
    rewards: list[int]
    remaining: int
    final_score: int
    closed_at_target: bool = False
    by_owner: dict[str, int] = field(default_factory=dict)

    @property
    def paid(self) -> int:
        """Total wei paid to owners."""
        return sum(self.rewards)


def improvement_reward(
    bounty: int,
    remaining: int,
    initial: int,
    target: int,
    current: int,
    new_score: int,
    min_gain: int = 0,
) -> int:
    """Reward of one accepted evaluation under ``IMPROVEMENT`` (wei), nothing reserved.

    ``min(remaining, bounty * (new_score - current) // (target - initial))`` when the gain is
    at least ``max(min_gain, 1)``, else 0.
    """
    _check(bounty, initial, target)
    gain = new_score - current
    if gain < max(min_gain, 1):
        return 0
    return min(remaining, bounty * gain // (target - initial))


def _check(bounty: int, initial: int, target: int) -> None:
    if bounty < 0:
        raise ConfigError(f"bounty must be >= 0 wei, not {bounty}")
    if target <= initial:
        raise ConfigError(f"target score {target} must be above the initial score {initial}")


def payouts(
    mechanism: Mechanism | str | int,
    bounty: int,
    initial: int,
    target: int,
    evaluations: Sequence[Evaluation],
    *,
    min_gain: int = 0,
    stale_reward: int | None = None,
) -> Payout:
    """Each evaluation submitted and evaluated at once, then close and claim in order.

    Parameters
    ----------
    mechanism : Mechanism or str or int
    bounty : int
        Wei deposited by the lender.
    initial, target, min_gain : int
        Initial and target scores and the minimum paid gain (ppm).
    evaluations : sequence of Evaluation
        In evaluation order. Once the target is reached the model closes: later evaluations
        cannot happen on chain and are paid 0 here.
    stale_reward : int, optional
        The model's stale reward (default: the wrapper's, a tenth of the bounty); with
        nothing else waiting it only caps nothing, but it must be valid.

    Returns
    -------
    Payout
        Rewards per evaluation (shares claimed in evaluation order), what remains, totals per
        owner.
    """
    mech = Mechanism.parse(mechanism)
    if bounty == 0:  # the contract takes no empty bounty; nothing to pay either way
        _check(bounty, initial, target)
        return Payout(mech, 0, [0] * len(evaluations), 0, initial, False, {})
    escrow = Escrow(mech, bounty, initial, target, min_gain, stale_reward)
    done = 0
    for i, ev in enumerate(evaluations):
        if not escrow.is_open:
            break
        escrow.submit(i, ev.owner, ev.rows)
        escrow.evaluate(i, ev.accepted, ev.new_score)
        done = i + 1
    if escrow.is_open:
        escrow.close()
    if mech is not Mechanism.IMPROVEMENT:
        for i in range(done):
            if escrow.subs[i].gain:
                escrow.claim_share(i)
    rewards = [escrow.amount(i) if i < done else 0 for i in range(len(evaluations))]
    by_owner: dict[str, int] = {}
    for ev, reward in zip(evaluations, rewards, strict=True):
        by_owner[ev.owner] = by_owner.get(ev.owner, 0) + reward
    return Payout(
        mech, bounty, rewards, escrow.remaining, escrow.current, escrow.closed_at_target, by_owner
    )


def all_payouts(
    bounty: int,
    initial: int,
    target: int,
    evaluations: Sequence[Evaluation],
    *,
    min_gain: int = 0,
) -> dict[Mechanism, Payout]:
    """:func:`payouts` for every mechanism, on the same evaluations."""
    return {
        m: payouts(m, bounty, initial, target, evaluations, min_gain=min_gain) for m in Mechanism
    }


def share_of(payout: Payout, owners: Iterable[str]) -> float:
    """Fraction of the bounty that went to ``owners`` (0 when the bounty is 0)."""
    wanted = set(owners)
    total = sum(v for k, v in payout.by_owner.items() if k in wanted)
    return total / payout.bounty if payout.bounty else 0.0


def _arg(args: object, name: str, index: int) -> object:
    """An event argument by name (web3's AttributeDict) or position (a plain tuple)."""
    if isinstance(args, dict) or hasattr(args, "keys"):
        return args[name]  # type: ignore[index]
    return args[index]  # type: ignore[index]


_TERMS = (
    "metric", "mechanism", "initialScore", "targetScore", "minGain", "deadline",
    "evaluationWindow", "revealWindow", "submissionDeposit", "maxRows", "staleReward",
)  # fmt: skip


def replay_events(events: Iterable[object], model_id: int) -> tuple[Escrow, list[str]]:
    """Replay a model's chain events (``ChainEvent``: ``name``, ``args``), in chain order,
    through an :class:`Escrow`; return it and every amount the chain reported that the
    mirror computes differently (empty: the mirror reproduces the chain exactly).

    Events read: ``ModelCreated`` (terms, bounty), ``UpdateSubmitted`` (stale reserve),
    ``UpdateEvaluated`` (reward), ``StaleSettled``, ``ModelClosed``, ``ShareClaimed``,
    ``ForfeitClaimed``, ``BountyReclaimed``; other models' events are skipped.
    """
    escrow: Escrow | None = None
    diffs: list[str] = []

    def same(what: str, chain: object, mirror: int) -> None:
        if int(chain) != int(mirror):  # type: ignore[call-overload]
            diffs.append(f"{what}: chain {int(chain)}, mirror {mirror}")  # type: ignore[call-overload]

    for ev in events:
        name, args = ev.name, ev.args  # type: ignore[attr-defined]
        if "modelId" not in args or int(args["modelId"]) != int(model_id):
            continue
        if name == "ModelCreated":
            t = args["terms"]
            terms = {k: int(_arg(t, k, i)) for i, k in enumerate(_TERMS)}  # type: ignore[call-overload]
            escrow = Escrow(
                Mechanism(terms["mechanism"]), int(args["bounty"]), terms["initialScore"],
                terms["targetScore"], terms["minGain"], terms["staleReward"],
            )  # fmt: skip
            continue
        if escrow is None:
            raise ConfigError(f"model {model_id}: events before its ModelCreated")
        key = int(args["updateId"]) if "updateId" in args else None
        if name == "UpdateSubmitted":
            reserve = escrow.submit(key, str(args["owner"]).lower(), int(args["rows"]))
            same(f"update #{key} stale reserve", args["staleReserve"], reserve)
        elif name == "UpdateEvaluated":
            reward = escrow.evaluate(key, bool(args["accepted"]), int(args["newScore"]))
            same(f"update #{key} reward", args["reward"], reward)
            same(f"update #{key} paid gain", args["gain"], escrow.subs[key].gain)
        elif name == "StaleSettled":
            same(f"update #{key} stale settlement", args["reward"], escrow.settle_stale(key))
        elif name == "ModelClosed" and escrow.is_open:
            escrow.close()
        elif name == "ShareClaimed":
            same(f"update #{key} share", args["amount"], escrow.claim_share(key))
        elif name == "ForfeitClaimed":
            same(f"update #{key} forfeit share", args["amount"], escrow.claim_forfeit(key))
        elif name == "BountyReclaimed":
            same("reclaimed", args["amount"], escrow.reclaim())
    if escrow is None:
        raise ConfigError(f"model {model_id}: no ModelCreated event")
    return escrow, diffs
