"""The event index against real nodes behind a provider-like proxy: paging under each provider's
caps and wording, a block over the result cap, reorgs (anvil and Ganache), the wrappers read
through a capped, rate-limited, sometimes-429 proxy, and the ``hessian node proxy`` command.
"""

from __future__ import annotations

import threading

import pytest
import requests

from hessian_common.chain.client import ChainClient, RetryPolicy, connect, dev_account
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_loanbook, deploy_repository
from hessian_common.chain.index import EventIndex, LogsTooLarge
from hessian_common.chain.loanbook import LoanBook
from hessian_common.chain.proxy import STYLES, RpcProxy, start_proxy_process
from hessian_common.chain.repository import ModelRepository, test_set_commitment
from hessian_common.chain.token import ZERO_ADDRESS
from hessian_common.errors import ChainUnavailable
from tests.fixtures.chain import ChainTime

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
APP_CID = "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su"


def _rpc(w3, method, params=()):
    answer = w3.provider.make_request(method, list(params))
    assert "error" not in answer, answer
    return answer["result"]


def _create_model(repo: ModelRepository, w3) -> int:
    return repo.create_model(
        CID,
        bounty=10**16,
        initial_score=500_000,
        target_score=900_000,
        deadline=ChainTime(w3).now() + 86_400,
        evaluation_window=3_600,
        test_set_commitment=test_set_commitment(CID, b"\x01" * 32),
    )


def _deploy(url: str) -> tuple[ModelRepository, int]:
    w3 = connect(url)
    client = ChainClient(w3, dev_account(0))
    artifact = load_artifact("ModelRepository")
    block = client.block_number()
    address = deploy_repository(client, artifact=artifact, record=False)
    return ModelRepository(client, address, artifact.abi, from_block=block), block


def _in_one_block(repo: ModelRepository, calls) -> int:
    """Mine ``calls`` (``(account index, bound function[, value])``) in one anvil block."""
    w3 = repo.client.w3
    _rpc(w3, "evm_setAutomine", [False])
    try:
        nonces: dict[int, int] = {}
        for who, fn, *value in calls:
            acc = dev_account(who)
            nonce = nonces.get(who, w3.eth.get_transaction_count(acc.address, "pending"))
            nonces[who] = nonce + 1
            tx = fn.build_transaction(
                {"from": acc.address, "nonce": nonce, "gas": 600_000, "value": sum(value),
                 "gasPrice": 2 * w3.eth.gas_price, "chainId": repo.client.chain_id}
            )  # fmt: skip
            w3.eth.send_raw_transaction(acc.sign_transaction(tx).raw_transaction)
        _rpc(w3, "evm_mine")
    finally:
        _rpc(w3, "evm_setAutomine", [True])
    block = w3.eth.block_number
    assert len(w3.eth.get_block(block)["transactions"]) == len(calls)
    return block


def _submit(repo: ModelRepository, model_id: int, n: int):
    return repo.fn.submitUpdate(model_id, CID, n.to_bytes(32, "big"), 10, 0)


@pytest.fixture(scope="module")
def history(anvil):
    """A repository on anvil with sparse and dense stretches of events:

    - 12 submissions, 5 empty blocks apart;
    - 3 consecutive blocks of 3 submissions each (any 2 of them: 6 logs);
    - one block with 2 ModelCreated and 3 UpdateSubmitted (5 logs; 3 of one kind at most).
    """
    repo, _ = _deploy(anvil.url)
    w3 = repo.client.w3
    model = _create_model(repo, w3)
    owner = repo.as_account(ChainClient(w3, dev_account(1)))
    for n in range(12):
        _rpc(w3, "anvil_mine", [hex(5)])
        owner.submit_update(model, CID, (n + 1).to_bytes(32, "big"), 10)
    for b in range(3):
        _in_one_block(repo, [(1 + k, _submit(repo, model, 100 + 10 * b + k)) for k in range(3)])
    terms = (0, 0, 500_000, 900_000, 0, ChainTime(w3).now() + 86_400, 3_600, 3_600, 0, 10**6, 1)
    create = repo.fn.createModel(CID, b"\x01" * 32, terms, ZERO_ADDRESS, 10**15)
    created = [(0, create, 10**15) for _ in range(2)]
    mixed = _in_one_block(repo, created + [(k, _submit(repo, model, 200 + k)) for k in (1, 2, 3)])
    _rpc(w3, "anvil_mine", [hex(40)])  # and an empty stretch to the head
    return repo, mixed


@pytest.mark.anvil
@pytest.mark.parametrize("style", STYLES)
def test_paging_shrinks_on_each_provider_wording(history, style, tmp_path):
    repo, _ = history
    expected = repo.events()  # one plain eth_getLogs, straight to anvil
    with RpcProxy(repo.client.url, max_range=16, max_results=4, style=style) as proxy:
        index = EventIndex(
            tmp_path / "i.sqlite", connect(proxy.url), repo.address, repo.abi, repo.from_block
        )
        done = index.refresh()
        stats = dict(proxy.stats)
    assert index.events() == expected
    assert done.added == len(expected) == 1 + 12 + 9 + 5
    assert stats["range_refused"] >= 1 and stats["results_refused"] >= 2
    assert done.shrinks == stats["range_refused"] + stats["results_refused"]
    assert done.log_requests == stats["method:eth_getLogs"]
    assert index.span <= 16  # learnt the provider's range cap


@pytest.mark.anvil
def test_a_block_over_the_result_cap(history, tmp_path):
    repo, mixed = history
    # 5 logs in one block, at most 3 of one event: read one event signature at a time
    with RpcProxy(repo.client.url, max_results=3, style="geth") as proxy:
        index = EventIndex(
            tmp_path / "a.sqlite", connect(proxy.url), repo.address, repo.abi, repo.from_block
        )
        index.refresh()
        by_topic = proxy.stats["method:eth_getLogs"]
    assert index.events() == repo.events()
    assert [e.name for e in index.events(from_block=mixed, to_block=mixed)] == [
        e.name for e in repo.events(mixed, mixed)
    ]
    assert by_topic > 3
    # 3 UpdateSubmitted in one block and a cap of 2: nothing can read it; the error says where
    with RpcProxy(repo.client.url, max_results=2, style="infura") as proxy:
        index = EventIndex(
            tmp_path / "b.sqlite", connect(proxy.url), repo.address, repo.abi, repo.from_block
        )
        with pytest.raises(LogsTooLarge, match=r"block \d+ holds more UpdateSubmitted events"):
            index.refresh()
    # what was read before the refusal is kept; the failing block is where it resumes
    assert index.last_block < mixed
    assert index.events() == repo.events(repo.from_block, index.last_block)


@pytest.mark.parametrize("kind", ["anvil", pytest.param("ganache", marks=pytest.mark.ganache)])
@pytest.mark.anvil
def test_a_reorg_removes_an_indexed_event(kind, request, tmp_path):
    node = request.getfixturevalue(kind)
    repo, _ = _deploy(node.url)
    w3 = repo.client.w3
    model = _create_model(repo, w3)
    index = EventIndex(tmp_path / "r.sqlite", w3, repo.address, repo.abi, repo.from_block,
                       confirmations=1)  # fmt: skip
    index.refresh()

    def owner(i: int) -> ModelRepository:  # a fresh client: nonces go back with the chain
        return repo.as_account(ChainClient(w3, dev_account(i)))

    def digests() -> list[bytes]:
        found = [e.args["datasetDigest"] for e in index.events("UpdateSubmitted")]
        # the kept counts follow the drops and re-reads
        assert index.count("UpdateSubmitted", {"modelId": model}) == len(found)
        assert index.count() == index.count(from_block=0) == len(index.events())
        return found

    # same height, other history: the recorded hash of the head no longer matches
    snapshot = _rpc(w3, "evm_snapshot")
    owner(1).submit_update(model, CID, b"\xaa" * 32, 10)
    for _ in range(3):
        _rpc(w3, "evm_mine")
    index.refresh()
    assert digests() == [b"\xaa" * 32]
    head = w3.eth.block_number
    assert _rpc(w3, "evm_revert", [snapshot]) is True
    owner(2).submit_update(model, CID, b"\xbb" * 32, 10)
    for _ in range(3):
        _rpc(w3, "evm_mine")
    assert w3.eth.block_number == head
    done = index.refresh()
    assert done.reorg and done.removed == 1 and done.added == 1
    assert digests() == [b"\xbb" * 32]
    assert index.events() == repo.events()
    # a shorter chain: the indexed event is gone before anything new comes
    snapshot = _rpc(w3, "evm_snapshot")
    owner(3).submit_update(model, CID, b"\xcc" * 32, 10)
    index.refresh()
    assert digests() == [b"\xbb" * 32, b"\xcc" * 32]
    assert _rpc(w3, "evm_revert", [snapshot]) is True
    done = index.refresh()
    assert done.reorg and done.removed == 1 and index.last_block == w3.eth.block_number
    assert digests() == [b"\xbb" * 32]
    # and a restart on the same file after all that agrees with the chain
    again = EventIndex(tmp_path / "r.sqlite", w3, repo.address, repo.abi, repo.from_block)
    assert again.refresh().removed == 0 and again.events() == repo.events()


@pytest.mark.anvil
def test_a_reorg_under_a_running_fold_restarts_it(anvil, tmp_path):
    """A fold that took an event the chain then drops is folded again from the file: the
    owners' totals through the index equal the plain ones after the reorg."""
    from hessian_common.chain import pages

    repo, _ = _deploy(anvil.url)
    w3 = repo.client.w3
    model = _create_model(repo, w3)
    indexed = ModelRepository(repo.client, repo.address, repo.abi, repo.from_block,
                              index=EventIndex(tmp_path / "f.sqlite", w3, repo.address, repo.abi,
                                               repo.from_block, confirmations=1))  # fmt: skip

    def owner(i: int) -> ModelRepository:
        return repo.as_account(ChainClient(w3, dev_account(i)))

    first = owner(1).submit_update(model, CID, b"\x01" * 32, 10)
    repo.evaluate_update(first, True, 600_000, CID)
    snapshot = _rpc(w3, "evm_snapshot")
    second = owner(2).submit_update(model, CID, b"\x02" * 32, 20)
    repo.evaluate_update(second, True, 700_000, CID)
    folded = pages.owner_totals(indexed, model)
    assert {t.owner for t in folded} == {dev_account(1).address, dev_account(2).address}
    epoch = indexed.index.epoch
    assert _rpc(w3, "evm_revert", [snapshot]) is True
    other = owner(3).submit_update(model, CID, b"\x03" * 32, 30)
    owner(0).evaluate_update(other, True, 650_000, CID)  # the lender, with nonces reread
    for _ in range(3):
        _rpc(w3, "evm_mine")
    after = pages.owner_totals(indexed, model)
    assert indexed.index.epoch != epoch
    assert after == pages.owner_totals(repo, model)
    assert {t.owner for t in after} == {dev_account(1).address, dev_account(3).address}
    assert dict(pages.scores_before(indexed, model, 500_000)) == {first: 500_000, other: 600_000}


@pytest.mark.anvil
def test_anvil_reorg_replaces_the_blocks_of_an_indexed_event(anvil, tmp_path):
    """``anvil_reorg(depth, [])``: the last blocks are replaced by empty ones at the same
    height; the index drops the event they held, through a proxy and its result cap."""
    repo, _ = _deploy(anvil.url)
    w3 = repo.client.w3
    model = _create_model(repo, w3)
    owner = repo.as_account(ChainClient(w3, dev_account(1)))
    owner.submit_update(model, CID, b"\x01" * 32, 10)
    _rpc(w3, "anvil_mine", [hex(20)])
    owner.submit_update(model, CID, b"\x02" * 32, 10)
    _rpc(w3, "anvil_mine", [hex(2)])
    with RpcProxy(anvil.url, max_range=10, max_results=1, style="alchemy") as proxy:
        index = EventIndex(tmp_path / "r.sqlite", connect(proxy.url), repo.address, repo.abi,
                           repo.from_block, confirmations=0)  # fmt: skip
        index.refresh()
        assert index.count("UpdateSubmitted") == 2
        head = w3.eth.block_number
        _rpc(w3, "anvil_reorg", [3, []])  # the second submission's block and the two after
        assert w3.eth.block_number == head
        done = index.refresh()
    assert done.reorg and done.removed == 1 and done.added == 0
    assert [e.args["datasetDigest"] for e in index.events("UpdateSubmitted")] == [b"\x01" * 32]
    assert index.events() == repo.events()


@pytest.mark.anvil
def test_the_wrappers_read_through_a_capped_rate_limited_proxy(anvil, tmp_path):
    """Every write and read of both wrappers goes through a proxy with a 6-block log range, 3
    logs per answer, 40 calls/s (8 at once) and 10 % random 429s; the answers equal a direct
    read."""
    proxy = RpcProxy(anvil.url, max_range=6, max_results=3, rate=40, burst=8,
                     random_429=0.1, seed=7, style="alchemy").start()  # fmt: skip
    try:
        w3 = connect(proxy.url, retry=RetryPolicy(base=0.02))
        lender = ChainClient(w3, dev_account(0))
        block = lender.block_number()
        repo_address = deploy_repository(lender, record=False)
        book_address = deploy_loanbook(lender, repo_address, record=False)
        home = tmp_path / "company" / "index"
        repo = ModelRepository(lender, repo_address, from_block=block, index=home)
        book = LoanBook(lender, book_address, from_block=block, index=home)
        assert repo.index.path.parent == book.index.path.parent == home
        models = [_create_model(repo, w3) for _ in range(2)]
        uids = []
        for n in range(6):
            owner = repo.as_account(ChainClient(w3, dev_account(1 + n % 3)))
            uids.append(owner.submit_update(models[n % 2], CID, bytes([n + 1]) * 32, 10 + n))
            _rpc(w3, "anvil_mine", [hex(4)])
        repo.evaluate_update(uids[0], True, 600_000, CID)
        repo.evaluate_update(uids[2], False, 550_000, CID)
        repo.close_model(models[1])
        book.deploy_model(models[1], CID, b"\x02" * 32)
        for n in range(3):
            borrower = book.as_account(ChainClient(w3, dev_account(3 + n)))
            borrower.apply(models[1], bytes([50 + n]) * 32, APP_CID, 10**17, 12)

        direct = connect(anvil.url)
        plain_repo = ModelRepository(ChainClient(direct, dev_account(0)), repo_address,
                                     from_block=block)  # fmt: skip
        plain_book = LoanBook(ChainClient(direct, dev_account(0)), book_address, from_block=block)
        assert repo.events() == plain_repo.events()
        assert repo.models() == plain_repo.models()
        assert repo.submissions(models[0]) == plain_repo.submissions(models[0])
        assert book.loans() == plain_book.loans()
        assert book.loans(borrower=dev_account(4).address) == plain_book.loans(
            borrower=dev_account(4).address
        )
        assert book.deployments() == plain_book.deployments()
        assert book.events() == plain_book.events()
        page = repo.events_page("UpdateSubmitted", {"modelId": models[0]}, 2, 1, order="desc")
        assert [e.args["updateId"] for e in page] == [uids[2], uids[0]]
        assert repo.event_count("UpdateSubmitted", {"modelId": models[0]}) == 3
        assert book.event_count("LoanApplied", {"modelId": models[1]}) == 3
        stats = dict(proxy.stats)
    finally:
        proxy.stop()
    assert stats["random_429"] > 0 and stats["rate_limited"] > 0
    assert stats["range_refused"] > 0
    assert w3.provider.retries == stats["random_429"] + stats["rate_limited"]


@pytest.mark.anvil
def test_retries_are_bounded(anvil):
    with RpcProxy(anvil.url, random_429=0.5, seed=1) as proxy:
        w3 = connect(proxy.url, retry=RetryPolicy(base=0.01))
        for _ in range(10):
            assert w3.eth.block_number >= 0
        assert w3.provider.retries == proxy.stats["random_429"] > 0
    with RpcProxy(anvil.url, random_429=0.999, seed=1) as proxy:
        with pytest.raises(ChainUnavailable, match=r"HTTP 429 to eth_chainId after 3 attempts"):
            connect(proxy.url, retry=RetryPolicy(attempts=3, base=0.01))
        assert proxy.stats["random_429"] == 3 and proxy.stats["forwarded"] == 0


@pytest.mark.anvil
def test_proxy_command_answers_like_quicknode_and_stops_by_pid(anvil):
    proc = start_proxy_process(anvil.url, max_range=5, style="quicknode", rate=1000)
    assert proc.url.startswith("http://127.0.0.1:")
    try:
        query = {"fromBlock": "0x0", "toBlock": "0x9", "address": "0x" + "00" * 20}
        body = {"jsonrpc": "2.0", "id": 7, "method": "eth_getLogs", "params": [query]}
        resp = requests.post(proc.url, json=body, timeout=10)
        assert resp.status_code == 413
        assert resp.json()["error"] == {
            "code": -32614,
            "message": "eth_getLogs is limited to a 5 range",
        }
        query["toBlock"] = "0x4"
        assert requests.post(proc.url, json=body, timeout=10).json()["result"] == []
        body = {"jsonrpc": "2.0", "id": 8, "method": "eth_chainId", "params": []}
        assert int(requests.post(proc.url, json=body, timeout=10).json()["result"], 16) == 31337
    finally:
        proc.stop()
    assert proc.proc.poll() is not None
    with pytest.raises(requests.ConnectionError):
        requests.post(proc.url, json=body, timeout=2)


@pytest.mark.anvil
def test_concurrent_refreshes_of_one_file(history, tmp_path):
    """Four threads, each with its own index on the same file, refresh at once: one reads the
    history, the others wait for it and find nothing new; nothing is doubled."""
    repo, _ = history
    path = tmp_path / "shared.sqlite"
    results, errors = [], []

    def work() -> None:
        try:
            index = EventIndex(path, connect(repo.client.url), repo.address, repo.abi,
                               repo.from_block, max_range=8)  # fmt: skip
            results.append(index.refresh())
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    expected = repo.events()
    assert sorted(r.added for r in results) == [0, 0, 0, len(expected)]
    index = EventIndex(path, repo.client.w3, repo.address, repo.abi, repo.from_block)
    assert index.events() == expected and index.count() == len(expected)
