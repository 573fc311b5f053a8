"""Property test: random call sequences keep the escrow invariant.

After every step, per model ``paid + owed + remaining + reclaimed == bounty`` and
``reserved <= remaining`` (``reserved == 0`` and an empty queue once nothing waits), and the
contract's balance equals everything it still owes: all pending balances plus, per model, the
fixed shares not claimed, the unallotted bounty, the deposits held and those forfeited. A call
that reverts must change nothing (checked by the same invariant). The actions also check that
only the head of a queue can be evaluated or settled (and the head always can be evaluated),
that a stale settlement pays exactly the reserve fixed at submission, and that a replay is
refused only to the owner who used the digest.

The sequences mix several owners, replays of one's own and of others' digests, rows up to the
model's maximum (up to 2**64 - 1), evaluations with random verdicts, scores and reason codes,
stale settlements, closes, reveals (or none: forfeits), share and forfeit claims, reclaims,
withdrawals and time travel past deadlines, evaluation windows and reveal deadlines.

One rule draws each step's action from a weighted list, so that every example mixes all of
them (with one rule per action, Hypothesis switches whole rules off in some examples and
prefers the rules with the fewest arguments); a failure's notes list the actions taken.

The machine runs twice: in ether, and in token mode, where each model's currency is HSN (18
decimals, paid in with permits) or a permit-less 6-decimal token (approved first). In token
mode the balances are checked per currency: for each, the token's balance of the contract
equals ``totalPendingOf`` (itself the sum of every account's pending balance) plus what the
models in that currency still hold, and withdrawals take a random currency.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from hessian_common.chain.client import ChainClient, eth_tester_web3
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_repository
from hessian_common.chain.repository import Mechanism, ModelRepository, test_set_commitment
from hessian_common.chain.token import ZERO_ADDRESS, Token
from hessian_common.errors import ContractRevert
from tests.contracts.helpers import machine_examples
from tests.fixtures.chain import ChainTime, fund_accounts

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
TEST_SET_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
SALT = b"\x33" * 32
N_OWNERS = 3
MAX_MODELS = 4
ACTIONS = (
    *("submit",) * 4,
    *("evaluate",) * 3,
    "settle_stale",
    "close",
    "reveal",
    "claim_share",
    "claim_forfeit",
    "reclaim",
    "withdraw",
    "new_model",
    "wrap_up",
    *("wait",) * 2,
)
"""What a step does, drawn uniformly (so repeated names weigh more; ``submit`` first, where
Hypothesis draws small)."""

SCORE_STEPS = (20_000, 60_000, 1_000, 999, 1, 0, -5_000, 150_000, -600_000, 600_000)
"""Score changes an evaluation draws (the first, where Hypothesis draws small, is a paid gain
for every ``minGain`` but the largest)."""

TERMS = {
    "mechanism": st.sampled_from(list(Mechanism)),
    "bounty": st.integers(1, 10**18),
    "deposit": st.sampled_from([0, 10**15]),
    "window": st.integers(10, 1_000),
    "reveal_window": st.sampled_from([20_000, 10, 1_000]),
    "min_gain": st.sampled_from([0, 1_000, 50_000]),
    "max_rows": st.sampled_from([1, 1_000, 2**64 - 1]),
    "stale_percent": st.sampled_from([1, 10, 50, 100]),
    "currency": st.integers(0, 1),
}


class EscrowMachine(RuleBasedStateMachine):
    TOKEN_MODE = False
    """Models in ether (False), or in HSN and a permit-less 6-decimal token (True)."""

    def __init__(self) -> None:
        super().__init__()
        self.w3 = eth_tester_web3()
        accounts = fund_accounts(self.w3, N_OWNERS + 2)
        art = load_artifact("ModelRepository")
        lender = ChainClient(self.w3, accounts[0], abis=[art.abi])
        address = deploy_repository(lender, artifact=art, record=False)
        self.lender = ModelRepository(lender, address, art.abi)
        self.owners = [
            self.lender.as_account(lender.with_account(a)) for a in accounts[1 : N_OWNERS + 1]
        ]
        self.outsider = self.lender.as_account(lender.with_account(accounts[-1]))
        self.everyone = [self.lender, *self.owners, self.outsider]
        self.currencies = [ZERO_ADDRESS]
        if self.TOKEN_MODE:
            self.currencies = [self._token(lender, "HessianToken", lender.address, 10**27),
                               self._token(lender, "PlainToken", "Plain", "PLN", 6)]  # fmt: skip
        self.time = ChainTime(self.w3)
        self.model_currency: list[str] = []  # per model (index model_id - 1)
        self.max_rows: list[int] = []  # per model (index model_id - 1)
        self.submissions: list[list[int]] = []  # per model: its update ids
        self.used: set[tuple[int, int, int]] = set()  # (model id, owner index, digest number)
        self.digests = 0

    def _token(self, lender: ChainClient, name: str, *args) -> str:
        """Deploy a token and give every account 10**24 base units of it; its address."""
        art = load_artifact(name)
        address = lender.deploy(art.abi, art.bytecode, *args)["contractAddress"]
        token = Token(lender, address)
        if name == "PlainToken":
            contract = self.w3.eth.contract(address=address, abi=art.abi)
            for who in self.everyone:
                lender.transact(contract.functions.mint(who.client.address, 10**24))
        else:
            for who in self.everyone[1:]:
                token.transfer(who.client.address, 10**24)
        return token.address

    # ------------------------------------------------------------ rules

    @initialize(first=st.fixed_dictionaries(TERMS), second=st.fixed_dictionaries(TERMS))
    def two_models(self, first, second) -> None:
        self._create(first)
        self._create(second)

    @rule(data=st.data())
    def act(self, data) -> None:
        """Someone does something: an owner submits, settles, claims or withdraws; the lender
        evaluates, closes, reveals, reclaims, creates a model or withdraws; or time passes."""
        getattr(self, f"_{data.draw(st.sampled_from(ACTIONS))}")(data)

    # ------------------------------------------------------------ actions

    def _try(self, what: str, action) -> ContractRevert | None:
        """Run ``action``; return its revert, if any (the invariant checks nothing moved)."""
        try:
            action()
        except ContractRevert as exc:
            note(f"{what}: {exc.error_name}")
            return exc
        note(f"{what}: ok")
        return None

    def _model(self, data) -> int:
        return data.draw(st.integers(1, len(self.max_rows)))

    def _create(self, terms: dict) -> None:
        if len(self.max_rows) >= MAX_MODELS:
            return
        bounty = terms["bounty"]
        currency = self.currencies[terms["currency"] % len(self.currencies)]
        self.lender.create_model(
            CID,
            bounty=bounty,
            initial_score=500_000,
            target_score=700_000,
            min_gain=terms["min_gain"],
            deadline=self.time.now() + 2_000,
            evaluation_window=terms["window"],
            reveal_window=terms["reveal_window"],
            test_set_commitment=test_set_commitment(TEST_SET_CID, SALT),
            mechanism=terms["mechanism"],
            submission_deposit=terms["deposit"],
            max_rows=terms["max_rows"],
            stale_reward=max(1, bounty * terms["stale_percent"] // 100),
            currency=currency,
        )
        note(f"create model {len(self.max_rows) + 1}: {terms}")
        self.model_currency.append(currency)
        self.max_rows.append(terms["max_rows"])
        self.submissions.append([])

    def _submit(self, data) -> None:
        """One to four submissions, each by a random owner to a random model, rows up to the
        model's maximum; a new digest or a replay of any digest used so far (by this owner:
        refused; by another: taken)."""
        now = self.time.now()
        models = range(1, len(self.max_rows) + 1)
        taking = [
            i
            for i in models
            if (m := self.lender._struct("getModel", i))["status"] == 0 and now < m["deadline"]
        ]
        for _ in range(data.draw(st.integers(1, 4))):
            if taking and data.draw(st.integers(0, 4)) < 4:  # mostly a model that takes them
                self._submit_one(data, data.draw(st.sampled_from(taking)))
            else:
                self._submit_one(data, self._model(data))

    def _submit_one(self, data, model_id: int) -> None:
        who = data.draw(st.integers(0, N_OWNERS - 1))
        rows = data.draw(st.integers(1, self.max_rows[model_id - 1]))
        if self.digests and data.draw(st.booleans()):
            number = data.draw(st.integers(1, self.digests))  # own or another owner's
        else:
            self.digests += 1
            number = self.digests
        error = self._try(
            f"owner {who} submits digest {number} to model {model_id}",
            lambda: self.owners[who].submit_update(model_id, CID, number.to_bytes(32, "big"), rows),
        )
        replayed = (model_id, who, number) in self.used
        if error is None:
            assert not replayed, "a replay by the same owner was taken"
            self.used.add((model_id, who, number))
            self.submissions[model_id - 1].append(self.lender.submission_count())
        elif error.error_name == "DigestAlreadySubmitted":
            assert replayed, "a digest used by another owner was refused"

    def _pick(self, data) -> tuple[int, int, int]:
        """``(model, head, chosen)``: a model with submissions waiting, its head and the
        submission to act on (mostly the head, sometimes another of the model's submissions);
        ``(0, 0, 0)`` when nothing waits anywhere."""
        heads = [(i, self.lender.next_in_queue(i)) for i in range(1, len(self.max_rows) + 1)]
        waiting = [(i, h) for i, h in heads if h]
        if not waiting:
            return 0, 0, 0
        model_id, head = data.draw(st.sampled_from(waiting))
        if data.draw(st.integers(0, 4)) == 4:
            return model_id, head, data.draw(st.sampled_from(self.submissions[model_id - 1]))
        return model_id, head, head

    def _verdict(self, data, model_id: int) -> tuple[bool, int]:
        """``(accepted, score)``: mostly accepted, the score a random step from the model's best
        (gains above, at and below ``minGain``, none, losses; clipped to 0..PPM)."""
        accepted = data.draw(st.sampled_from([True, True, False]))
        best = self.lender._struct("getModel", model_id)["currentScore"]
        step = data.draw(st.sampled_from(SCORE_STEPS))
        return accepted, min(max(best + step, 0), 1_000_000)

    def _evaluate(self, data) -> None:
        """The lender evaluates a queue's head with a random verdict, score and reason (it
        always can); any other submission must be refused."""
        model_id, head, uid = self._pick(data)
        if uid == 0:
            return
        accepted, score = self._verdict(data, model_id)
        reason = 0 if accepted else data.draw(st.integers(1, 9))
        cid = CID if accepted else data.draw(st.sampled_from(["", CID]))
        error = self._try(
            f"evaluate {uid} of model {model_id} (head {head}): {accepted} {score} {reason}",
            lambda: self.lender.evaluate_update(uid, accepted, score, cid, reason=reason),
        )
        if uid != head:
            assert error is not None, "a submission that was not the head was evaluated"
            assert error.error_name in ("OutOfOrder", "NotWaiting"), error
        else:
            assert error is None, error

    def _settle_stale(self, data) -> None:
        """Anyone settles a queue's head (another submission must be refused); a settlement
        pays exactly the reserve fixed at submission and refunds the deposit."""
        model_id, head, uid = self._pick(data)
        if uid == 0:
            return
        s = self.lender._struct("getSubmission", uid)  # while waiting, amount is the reserve
        who = data.draw(st.sampled_from(self.everyone))
        currency = self.model_currency[model_id - 1]
        before = self.lender.pending(s["owner"], currency)
        error = self._try(
            f"settle {uid} of model {model_id} (head {head})", lambda: who.settle_stale(uid)
        )
        if uid != head:
            assert error is not None and error.error_name in ("OutOfOrder", "NotWaiting"), error
        elif error is None:
            deposit = self.lender.model_deposit(model_id)
            assert self.lender.pending(s["owner"], currency) == before + s["amount"] + deposit

    def _claim(self, data, forfeit: bool) -> None:
        """Anyone claims the shares (or forfeit shares) of some of a model's submissions."""
        model_id = self._model(data)
        ids = self.submissions[model_id - 1]
        if not ids:
            return
        chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=len(ids)))
        who = data.draw(st.sampled_from(self.everyone))
        for uid in chosen:
            if forfeit:
                self._try(f"claim forfeit {uid}", lambda u=uid: who.claim_forfeit(u))
            else:
                self._try(f"claim share {uid}", lambda u=uid: who.claim_share(u))

    def _claim_share(self, data) -> None:
        self._claim(data, forfeit=False)

    def _claim_forfeit(self, data) -> None:
        self._claim(data, forfeit=True)

    def _wrap_up(self, data) -> None:
        """Take one model to its end, checking the invariant after each call: close it (the
        lender, or anyone past the deadline), settle or evaluate what waits, reveal or let the
        reveal deadline pass (random), claim every share and forfeit share, reclaim, and let
        everyone withdraw; then the whole bounty has gone to owners or back to the lender."""
        model_id = self._model(data)
        m = self.lender._struct("getModel", model_id)
        closer = self.lender if data.draw(st.booleans()) else self.outsider
        if closer is self.outsider and self.time.now() <= m["deadline"]:
            self.time.advance(m["deadline"] + 1 - self.time.now())
        self._try(f"wrap-up close model {model_id}", lambda: closer.close_model(model_id))
        self._check_escrow(with_view=True)
        while (head := self.lender.next_in_queue(model_id)) != 0:
            if data.draw(st.integers(0, 3)) < 3:  # mostly evaluated, sometimes left to go stale
                accepted, score = self._verdict(data, model_id)
                self._try(
                    f"wrap-up evaluate {head}: {accepted} {score}",
                    lambda h=head, a=accepted, sc=score: self.lender.evaluate_update(
                        h, a, sc, CID, reason=0 if a else 1
                    ),
                )
            else:
                stale_after = (
                    self.lender._struct("getSubmission", head)["submittedAt"]
                    + m["evaluationWindow"]
                )
                if self.time.now() <= stale_after:
                    self.time.advance(stale_after + 1 - self.time.now())
                self._try(f"wrap-up settle {head}", lambda h=head: self.outsider.settle_stale(h))
            self._check_escrow(with_view=True)
        if data.draw(st.booleans()):
            self._try(
                f"wrap-up reveal model {model_id}",
                lambda: self.lender.reveal_test_set(model_id, TEST_SET_CID, SALT, CID),
            )
        else:
            due = self.lender.reveal_deadline(model_id)
            if self.time.now() <= due:
                self.time.advance(due + 1 - self.time.now())
        for uid in self.submissions[model_id - 1]:
            self._try(f"wrap-up claim share {uid}", lambda u=uid: self.outsider.claim_share(u))
            self._try(f"wrap-up claim forfeit {uid}", lambda u=uid: self.outsider.claim_forfeit(u))
            self._check_escrow(with_view=True)
        self._try(f"wrap-up reclaim model {model_id}", lambda: self.lender.reclaim(model_id))
        self._check_escrow(with_view=True)
        for who in self.everyone:
            for currency in self.currencies:
                self._try("wrap-up withdraw", lambda w=who, c=currency: w.withdraw(c))
        # at the end of its life every wei of the bounty went to an owner or back to the lender
        m = self.lender._struct("getModel", model_id)
        e = self.lender.escrow(model_id)
        assert m["waitingCount"] == 0 and m["finalized"] and m["reserved"] == 0, m
        assert e["owed"] == 0 and e["remaining"] == 0, e
        assert e["paid"] + e["reclaimed"] == e["bounty"], e
        assert not m["forfeited"] or e["reclaimed"] == 0, e

    def _wait(self, data) -> None:
        seconds = data.draw(st.sampled_from([1, 500, 1_500, 3_000]))
        note(f"wait {seconds} s")
        self.time.advance(seconds)

    def _withdraw(self, data) -> None:
        who = data.draw(st.sampled_from(self.everyone))
        currency = data.draw(st.sampled_from(self.currencies))
        self._try(f"withdraw {currency}", lambda: who.withdraw(currency))

    def _close(self, data) -> None:
        model_id = self._model(data)
        closer = self.lender if data.draw(st.booleans()) else self.outsider
        self._try(f"close model {model_id}", lambda: closer.close_model(model_id))

    def _reveal(self, data) -> None:
        model_id = self._model(data)
        salt = SALT if data.draw(st.integers(0, 4)) < 4 else b"\x00" * 32
        self._try(
            f"reveal model {model_id}",
            lambda: self.lender.reveal_test_set(model_id, TEST_SET_CID, salt, CID),
        )

    def _reclaim(self, data) -> None:
        model_id = self._model(data)
        who = self.lender if data.draw(st.integers(0, 4)) < 4 else self.outsider
        self._try(f"reclaim model {model_id}", lambda: who.reclaim(model_id))

    def _new_model(self, data) -> None:
        self._create(data.draw(st.fixed_dictionaries(TERMS)))

    # ------------------------------------------------------------ invariant

    @invariant()
    def escrow_balances(self) -> None:
        """The escrow invariant from the raw model storage (one read per model)."""
        self._check_escrow(with_view=False)

    def _check_escrow(self, with_view: bool) -> None:
        """The invariant; ``with_view`` also checks ``escrowOf`` agrees with the storage.
        Balances per currency: what the contract holds of each equals every pending balance
        in it plus what its models still hold."""
        owed_by_contract = {}
        for currency in self.currencies:
            pending = sum(r.pending(r.client.address, currency) for r in self.everyone)
            assert pending == self.lender.total_pending(currency)
            owed_by_contract[currency] = pending
        for model_id in range(1, len(self.max_rows) + 1):
            m = self.lender._struct("getModel", model_id)
            deposit = m["submissionDeposit"]
            e = {
                "bounty": m["bounty"],
                "paid": m["paid"] + m["claimed"],
                "owed": m["pool"] - m["claimed"],
                "remaining": m["remaining"],
                "reclaimed": m["reclaimed"],
                "deposits_held": m["waitingCount"] * deposit,
                "deposits_forfeited": m["rejectedCount"] * deposit,
            }
            if with_view:
                assert self.lender.escrow(model_id) == e
            assert e["paid"] + e["owed"] + e["remaining"] + e["reclaimed"] == e["bounty"], e
            assert m["reserved"] <= e["remaining"], (m, e)
            if m["waitingCount"] == 0:
                assert m["reserved"] == 0 and m["head"] == 0 and m["tail"] == 0, m
            assert m["acceptedRows"] <= m["acceptedCount"] * self.max_rows[model_id - 1]
            assert m["currency"] == self.model_currency[model_id - 1]
            owed_by_contract[m["currency"]] += (
                e["owed"] + e["remaining"] + e["deposits_held"] + e["deposits_forfeited"]
            )
        for currency, owed in owed_by_contract.items():
            if currency == ZERO_ADDRESS:
                held = self.w3.eth.get_balance(self.lender.address)
            else:
                held = Token(self.lender.client, currency).balance_of(self.lender.address)
            assert held == owed, currency
        if self.TOKEN_MODE:  # no ether moves at all
            assert self.w3.eth.get_balance(self.lender.address) == 0


EscrowMachine.TestCase.settings = settings(
    max_examples=machine_examples(5),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TestEscrowInvariant = pytest.mark.filterwarnings("ignore:The recursion limit")(
    pytest.mark.slow(EscrowMachine.TestCase)
)


class TokenEscrowMachine(EscrowMachine):
    """The same machine with every model in a token (HSN or a permit-less 6-decimal one)."""

    TOKEN_MODE = True


TokenEscrowMachine.TestCase.settings = settings(
    EscrowMachine.TestCase.settings, max_examples=machine_examples(3)
)

TestTokenEscrowInvariant = pytest.mark.filterwarnings("ignore:The recursion limit")(
    pytest.mark.slow(TokenEscrowMachine.TestCase)
)
