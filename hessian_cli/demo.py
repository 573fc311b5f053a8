"""``hessian demo``: the whole system on one machine, for a newcomer.

What it does, each step skipped when its result already exists (so a second run reuses the
chain state, the contract, the data and the demo task of the first)::

    check    node_modules has the chain tools and the compiler (else: run `make setup`)
    chain    a local Ganache (or anvil) on 127.0.0.1:<chain-port>, its state in <home>/chain;
             a node that already answers on that port is reused (and left running)
    deploy   ModelRepository, unless <home>/deployments/<chainId>.json names code on the chain
    tokens   HSN (its supply to the lender) and TestUSD (a test dollar), unless recorded; each
             demo owner (a borrower too) is given HSN and TestUSD, the lender TestUSD to lend
    data     a generated Lending Club split in <home>/data: owner_01.csv ... for the owners,
             lender_loans.csv for the lender (hessian_common.data.generate_split)
    task     a demo training task with a bounty in HSN, created through hessian_common.tasks as dev
             account 0, unless one of that name exists (open or closed: a closed one is
             reused and reported, never replaced and funded again unless --new-task)
    apps     `hessian company` (dev account 0) and one `hessian owner` per demo owner (dev
             account k, home <home>/owner-k) on 127.0.0.1:<port-base>, <port-base>+1, ...
    wait     until Ctrl-C (SIGINT) or SIGTERM, then stop what it started, by PID; meanwhile
             the chain is watched (ChainWatch): if its process ends, the apps stay up, the
             demo says so and starts it again on the same state; if it hangs (alive, not
             answering), the demo says so and how to continue it

Everything shares one embedded content store (``<home>/store``), as a team sharing one IPFS
node would. ``--check`` brings everything up, checks that every app answers HTTP 200 and
stops again (the test of `make demo`'s path). ``--stop`` stops processes a previous demo left
behind (e.g. after ``kill -9``), using the PIDs it recorded in ``<home>/run/demo.json``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from hessian_common.chain.node import terminate_pid
from hessian_common.errors import ChainError, ConfigError, DeploymentNotFound, HessianError

DEMO_TASK_NAME = "Demo: Lending Club default risk"
DEMO_LENDING_NAME = "Demo: deployed credit model"
DEMO_INSURANCE_NAME = "Demo: motor claims model"
DEMO_INSURANCE_CAPITAL_ETH = 100
"""Capital the demo insurer deposits (a $100,000 limit reserves 10 ETH at $10,000 an ETH)."""
DEMO_INSURANCE_DOLLARS_PER_ETH = "10000"
"""A second demo model: trained by the demo owners' files, closed and deployed for lending."""
DEFAULT_HOME = Path("var") / "demo"
LENDER_DEV_INDEX = 0
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 15.0


# --------------------------------------------------------------------------- processes


@dataclass
class Child:
    """A process the demo started (recorded in ``<home>/run/demo.json``)."""

    name: str
    pid: int
    url: str
    log: str
    command: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = field(default=None, repr=False, compare=False)

    def record(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "proc"}


def _alive_and_ours(pid: int, command: list[str]) -> bool:
    """True if ``pid`` runs and (where ``/proc`` tells) is still the command we started."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if command and cmdline.exists():
        try:
            args = [a.decode(errors="replace") for a in cmdline.read_bytes().split(b"\0") if a]
        except OSError:
            return False
        return bool(args) and Path(args[0]).name == Path(command[0]).name
    return True


def stop_pid(pid: int, proc: subprocess.Popen | None = None, timeout: float = STOP_TIMEOUT):
    """SIGTERM ``pid`` (one process we started), wait, then SIGKILL (the chain room's helper)."""
    terminate_pid(pid, timeout=timeout, proc=proc)


def _tail(path: str | Path, lines: int = 15) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def wait_http_ok(url: str, child: Child | None = None, timeout: float = READY_TIMEOUT) -> int:
    """Wait until ``url`` answers HTTP 200; return the status.

    Raises :class:`HessianError` naming the log file if the process exits or time runs out.
    """
    import requests

    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if child is not None and child.proc is not None and child.proc.poll() is not None:
            raise HessianError(
                f"{child.name} exited with status {child.proc.returncode} before {url} answered; "
                f"log {child.log}:\n{_tail(child.log)}"
            )
        try:
            reply = requests.get(url, timeout=5)
            if reply.status_code == 200:
                return 200
            last = f"HTTP {reply.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.3)
    where = f"; log {child.log}:\n{_tail(child.log)}" if child else ""
    raise HessianError(f"{url} did not answer HTTP 200 within {timeout:.0f}s ({last}){where}")


# --------------------------------------------------------------------------- the demo

HSN_NAME, TEST_USD_NAME = "HessianToken", "TestUSD"
OWNER_HSN = 1_000 * 10**18
"""HSN each demo owner starts with (deposits of HSN tasks)."""
OWNER_USD = 20_000 * 10**6
"""TestUSD each demo owner starts with (a borrower repays in it)."""
LENDER_USD = 2_000_000 * 10**6
"""TestUSD the demo lender starts with (the loans it funds)."""


@dataclass
class DemoOptions:
    """What ``hessian demo`` was asked to do (one field per CLI option)."""

    home: Path
    kind: str = "ganache"
    chain_port: int = 8545
    port_base: int = 5000
    owners: int = 2
    rows: int = 6000
    lender_rows: int = 1500
    key_size: int = 1024
    bounty_eth: float = 1000.0
    """The demo task's bounty, in HSN (the field keeps its old name for callers)."""
    seed: int = 2024
    open_browser: bool = True
    new_task: bool = False


class Demo:
    """Bring the demo up step by step; :meth:`shutdown` stops what it started (by PID)."""

    def __init__(self, opts: DemoOptions, echo=click.echo):
        self.opts = opts
        self.echo = echo
        self.home = opts.home.expanduser().resolve()
        self.children: list[Child] = []
        self.children_started = False
        self.rpc_url = f"http://127.0.0.1:{opts.chain_port}"
        self.chain_reused = False
        self.settings: Any = None
        self.address: str | None = None
        self.model_id: int | None = None
        self.loanbook_address: str | None = None
        self.lending_model_id: int | None = None
        self.tokens: dict[str, str] = {}
        """Token name (``HessianToken``, ``TestUSD``) -> address on the demo chain."""
        self.policybook_address: str | None = None
        self.insurance_model_id: int | None = None
        self.urls: dict[str, str] = {}
        self.chain_child: Child | None = None
        self.watch = ChainWatch(self)
        self.task_note = ""

    # ---------------------------------------------------------------- paths

    @property
    def run_file(self) -> Path:
        return self.home / "run" / "demo.json"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    def owner_files(self) -> list[Path]:
        return [self.data_dir / f"owner_{k:02d}.csv" for k in range(1, self.opts.owners + 1)]

    # ---------------------------------------------------------------- steps

    def check_tools(self) -> None:
        """The npm chain tools and compiler are installed (``make setup`` installs them)."""
        from hessian_common.chain.node import node_binary
        from hessian_common.config import load_settings

        settings = load_settings()
        node_binary(self.opts.kind, settings.node_modules)  # ConfigError says: run npm ci
        if not (settings.node_modules / "solc" / "package.json").is_file():
            raise ConfigError(
                f"the Solidity compiler is missing from {settings.node_modules}; run `make setup` "
                "(or `npm ci` in the checkout)"
            )

    def configure(self) -> None:
        """Settings every part of the demo shares, also exported to the child processes."""
        from hessian_common.config import load_settings

        self.home.mkdir(parents=True, exist_ok=True)
        deployments = os.environ.get("HESSIAN_DEPLOYMENTS_DIR") or self.home / "deployments"
        self.settings = load_settings(
            home=self.home,
            rpc_url=self.rpc_url,
            store="embedded",
            store_dir=self.home / "store",
            deployments_dir=deployments,
        )

    def child_env(self, home: Path) -> dict[str, str]:
        s = self.settings
        env = dict(os.environ)
        env.update(
            HESSIAN_HOME=str(home),
            HESSIAN_RPC_URL=s.rpc_url,
            HESSIAN_STORE="embedded",
            HESSIAN_STORE_DIR=str(s.store_dir),
            HESSIAN_DEPLOYMENTS_DIR=str(s.deployments_dir),
            HESSIAN_NODE_MODULES=str(s.node_modules),
            HESSIAN_CONTRACTS_DIR=str(s.contracts_dir),
            HESSIAN_CHAIN_COMMAND=self.chain_restart_command(),
            PYTHONUNBUFFERED="1",
        )
        if self.chain_child is not None:
            env["HESSIAN_CHAIN_SUPERVISED"] = "1"  # the apps say the demo restarts it
        else:
            env.pop("HESSIAN_CHAIN_SUPERVISED", None)
        env.pop("HESSIAN_CONFIG", None)
        return env

    def chain_restart_command(self) -> str:
        """The one command that starts the demo's chain again, on its own state."""
        import shlex
        import shutil

        exe = shutil.which("hessian") or str(Path(sys.executable).with_name("hessian"))
        if not Path(exe).exists():
            exe = f"{shlex.quote(sys.executable)} -m hessian_cli"
        else:
            exe = shlex.quote(exe)
        return (
            f"{exe} node start --kind {self.opts.kind} --port {self.opts.chain_port} "
            f"--state-dir {shlex.quote(str(self.home / 'chain'))}"
        )

    def _spawn(self, name: str, cmd: list[str], url: str, env: dict[str, str]) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,  # Ctrl-C reaches the demo, which stops them in order
            )
        child = Child(name, proc.pid, url, str(log), [str(c) for c in cmd], proc)
        self.children.append(child)
        self.children_started = True
        self._write_run_file()
        return child

    def _write_run_file(self) -> None:
        self.run_file.parent.mkdir(parents=True, exist_ok=True)
        payload = {"pid": os.getpid(), "children": [c.record() for c in self.children]}
        self.run_file.write_text(json.dumps(payload, indent=2), encoding="utf-8")

    def check_leftovers(self) -> None:
        """Refuse to start over processes an earlier demo left running."""
        left = leftover_children(self.home)
        if left:
            names = ", ".join(f"{c['name']} (PID {c['pid']})" for c in left)
            raise ChainError(
                f"a previous demo left {names} running; stop them with "
                f"`hessian demo --stop --home {self.home}`"
            )

    def check_ports(self) -> None:
        """The apps' ports are free (before anything is started)."""
        import socket

        for k in range(self.opts.owners + 1):
            port = self.opts.port_base + k
            with socket.socket() as s:
                # Like the servers: connections of an earlier run in TIME_WAIT do not count.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    app = "the company app" if k == 0 else f"data owner {k}"
                    raise ConfigError(
                        f"port {port} (for {app}) is in use on 127.0.0.1; choose other ports "
                        "with --port-base"
                    ) from None

    def start_chain(self) -> None:
        """Reuse a node on the chain port, or start ours with persistent state."""
        import requests

        from hessian_common.chain.node import node_command, rpc_chain_id, wait_for_rpc

        try:
            chain_id: int | None = rpc_chain_id(self.rpc_url, timeout=1.0)
        except (requests.RequestException, ValueError, KeyError, TypeError):
            chain_id = None  # nothing (or no JSON-RPC) answers: start our own node
        if chain_id is not None:
            self.chain_reused = True
            self.echo(f"chain     reusing the node at {self.rpc_url} (chain id {chain_id})")
            return
        state = self.home / "chain"
        state.mkdir(parents=True, exist_ok=True)
        cmd = node_command(self.opts.kind, self.opts.chain_port, state, self.settings.node_modules)
        child = self._spawn(self.opts.kind, cmd, self.rpc_url, dict(os.environ))
        self.chain_child = child
        chain_id = wait_for_rpc(self.rpc_url, timeout=READY_TIMEOUT, proc=child.proc)
        self.echo(
            f"chain     started {self.opts.kind} at {self.rpc_url} (chain id {chain_id}, "
            f"PID {child.pid}; state in {state})"
        )

    def lender_client(self) -> Any:
        from hessian_common.chain import ChainClient, connect, dev_account

        return ChainClient(connect(self.rpc_url), dev_account(LENDER_DEV_INDEX))

    def deploy(self) -> str:
        """The recorded contract if its code is on this chain with our ABI; else deploy."""
        from hessian_common.chain import deploy_repository, open_repository

        client = self.lender_client()
        try:
            repo = open_repository(client, self.settings.deployments_dir)
            self.address = repo.address
            self.echo(f"contract  reusing ModelRepository at {self.address}")
        except (DeploymentNotFound, ChainError) as exc:
            self.echo(f"contract  deploying ModelRepository ({exc.__class__.__name__})")
            self.address = deploy_repository(client, self.settings.deployments_dir)
            self.echo(f"contract  deployed at {self.address}")
        self.deploy_loanbook()
        self.deploy_policybook()
        return self.address

    def deploy_loanbook(self) -> str:
        """The recorded LoanBook if it is linked to our ModelRepository; else deploy one."""
        from hessian_common.chain import deploy_loanbook, open_loanbook

        client = self.lender_client()
        try:
            book = open_loanbook(client, self.settings.deployments_dir)
            if book.repository_address.lower() != str(self.address).lower():
                raise DeploymentNotFound(f"the recorded LoanBook reads {book.repository_address}")
            self.loanbook_address = book.address
            self.echo(f"contract  reusing LoanBook at {self.loanbook_address}")
        except (DeploymentNotFound, ChainError) as exc:
            self.echo(f"contract  deploying LoanBook ({exc.__class__.__name__})")
            self.loanbook_address = deploy_loanbook(
                client, str(self.address), self.settings.deployments_dir
            )
            self.echo(f"contract  LoanBook deployed at {self.loanbook_address}")
        return self.loanbook_address

    def make_data(self) -> None:
        """Owner files and the lender's loans, unless a manifest of these parameters exists."""
        from hessian_common.data import generate_loans, generate_split, write_export

        manifest = self.data_dir / "manifest.json"
        want = {"rows": self.opts.rows, "owners": self.opts.owners, "seed": self.opts.seed}
        lender = self.data_dir / "lender_loans.csv"
        if manifest.is_file() and lender.is_file():
            try:
                have = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                have = {}
            if all(have.get(k) == v for k, v in want.items()) and all(
                p.is_file() for p in self.owner_files()
            ):
                self.echo(f"data      reusing {self.data_dir}")
                return
        generate_split(self.data_dir, self.opts.rows, self.opts.owners, self.opts.seed)
        frame = generate_loans(self.opts.lender_rows, self.opts.seed + 1)
        write_export(frame, lender, "original")
        self.echo(
            f"data      generated {self.opts.rows} loans for {self.opts.owners} owners "
            f"and {self.opts.lender_rows} for the lender in {self.data_dir}"
        )

    def open_lender(self) -> Any:
        from hessian_common.store import open_store
        from hessian_common.tasks import Lender

        return Lender.open(
            self.lender_client().w3,
            open_store(self.settings),
            state_root=self.home / "company",
            settings=self.settings,
            contract_address=self.address,
            dev_index=LENDER_DEV_INDEX,
        )

    def make_task(self) -> int:
        """The ready-made demo task: reuse the latest one of that name, open or closed.

        A closed demo task (or one past its deadline) is reused and reported as such: a
        second run never posts and funds a new task on its own. ``--new-task`` does.
        """
        from hessian_common.chain import ModelStatus
        from hessian_common.tasks import TaskParams

        lender = self.open_lender()
        if not self.opts.new_task:
            for record in reversed(lender.records()):
                if record.name != DEMO_TASK_NAME:
                    continue
                info = lender.repo.model(record.model_id)
                self.model_id = record.model_id
                if info.status != ModelStatus.OPEN:
                    self.task_note = "closed"
                    self.echo(
                        f"task      reusing model #{self.model_id} ({DEMO_TASK_NAME!r}): it is "
                        "closed, so owners cannot submit to it; run `hessian demo --new-task` "
                        f"to post and fund a new one ({self.opts.bounty_eth:g} HSN)"
                    )
                elif info.deadline <= time.time():
                    self.task_note = "past its deadline"
                    self.echo(
                        f"task      reusing model #{self.model_id} ({DEMO_TASK_NAME!r}): its "
                        "deadline has passed; run `hessian demo --new-task` to post and fund "
                        "a new one"
                    )
                else:
                    self.echo(f"task      reusing model #{self.model_id} ({DEMO_TASK_NAME!r})")
                return self.model_id
        now = int(time.time())
        params = TaskParams(
            name=DEMO_TASK_NAME,
            bounty_wei=int(self.opts.bounty_eth * 10**18),
            currency=self.demo_currency(lender, HSN_NAME),
            metric="auc",
            target=0.80,
            mechanism="improvement",
            deadline=now + 30 * 24 * 3600,
            evaluation_window=3 * 24 * 3600,
            key_size=self.opts.key_size,
            update_rule="newton",  # weighted by rows: both demo owners improve the model
            holdout_fraction=0.8,
            data_path=self.data_dir / "lender_loans.csv",
        )
        self.echo(f"task      creating {DEMO_TASK_NAME!r} ({self.opts.key_size}-bit key) ...")
        record = lender.create_task(params)
        self.model_id = record.model_id
        self.echo(
            f"task      model #{self.model_id}: bounty {self.opts.bounty_eth:g} HSN, AUC "
            f"{record.initial_score:.4f} -> target {record.target:.2f}"
        )
        return self.model_id

    def make_lending_model(self) -> int:
        """The deployed demo credit model: reuse it, else train, close and deploy one.

        A second task on the lender's loans is trained with one encrypted update per demo
        owner file (through the owner workflow and each owner's own journal, as the owner app
        would), evaluated by the lender, closed, and deployed on the LoanBook with the
        default pricing policy, so borrowers can apply at once.
        """
        from hessian_common.chain import ChainClient, dev_account, open_loanbook
        from hessian_common.journal import Journal
        from hessian_common.lending.desk import LendingDesk
        from hessian_common.tasks import TaskParams

        lender = self.open_lender()
        book = open_loanbook(lender.repo.client, self.settings.deployments_dir)
        desk = LendingDesk(lender, book)
        for record in reversed(lender.records()):
            if record.name == DEMO_LENDING_NAME and book.deployment(record.model_id):
                self.lending_model_id = record.model_id
                self.echo(f"lending   reusing deployed model #{record.model_id}")
                return record.model_id
        from hessian_common import owner as owner_flow

        now = int(time.time())
        params = TaskParams(
            name=DEMO_LENDING_NAME,
            bounty_wei=10**18,
            metric="auc",
            target=0.80,
            mechanism="improvement",
            deadline=now + 30 * 24 * 3600,
            evaluation_window=3 * 24 * 3600,
            key_size=self.opts.key_size,
            update_rule="newton",
            holdout_fraction=0.5,
            data_path=self.data_dir / "lender_loans.csv",
        )
        self.echo(f"lending   training {DEMO_LENDING_NAME!r} with the owners' files ...")
        record = lender.create_task(params)
        store = lender.store
        for k, path in enumerate(self.owner_files(), start=1):
            account = dev_account(k)
            state = self.home / f"owner-{k}" / "owner"
            state.mkdir(parents=True, exist_ok=True)
            owner_flow.share(
                Journal(state / "journal.sqlite"),
                store,
                lender.repo.as_account(ChainClient(lender.repo.client.w3, account)),
                model=record.model_id,
                path=path,
                account=account,
                label=path.name,
            )
        lender.evaluate_all_waiting(record.model_id)
        lender.close(record.model_id)
        deployed = desk.deploy(
            record.model_id, currency=self.demo_currency(lender, TEST_USD_NAME)
        )
        self.lending_model_id = record.model_id
        info = lender.repo.model(record.model_id)
        self.echo(
            f"lending   model #{record.model_id} deployed in {deployed.currency.symbol} "
            f"(AUC {info.current_score / 1e6:.4f}; "
            f"calibration {deployed.calibration.chosen})"
        )
        return record.model_id

    # ---------------------------------------------------------------- tokens (issue 15)

    def deploy_demo_tokens(self) -> dict[str, str]:
        """HSN (the whole supply to the lender) and TestUSD, reused when recorded for this
        chain (``deploy_tokens``, as ``hessian deploy`` does)."""
        from hessian_common.chain.deploy import deploy_tokens

        client = self.lender_client()
        made = deploy_tokens(client, self.settings.deployments_dir)
        for name, (address, now) in made.items():
            self.tokens[name] = address
            self.echo(f"token     {'deployed' if now else 'reusing'} {name} at {address}")
        return self.tokens

    def fund_demo_accounts(self) -> None:
        """Each demo owner (who may also borrow) starts with :data:`OWNER_HSN` HSN and
        :data:`OWNER_USD` TestUSD, the lender with :data:`LENDER_USD` TestUSD to lend; topped
        up only when below (a second run sends nothing)."""
        from hessian_common.chain import dev_account
        from hessian_common.chain.token import TestUSD, Token

        client = self.lender_client()
        hsn = Token(client, self.tokens[HSN_NAME]) if HSN_NAME in self.tokens else None
        usd = TestUSD(client, self.tokens[TEST_USD_NAME]) if TEST_USD_NAME in self.tokens else None
        wants = [(client.address, 0, LENDER_USD)] + [
            (dev_account(k).address, OWNER_HSN, OWNER_USD) for k in range(1, self.opts.owners + 1)
        ]
        for who, hsn_units, usd_units in wants:
            if hsn is not None and hsn_units and hsn.balance_of(who) < hsn_units:
                hsn.transfer(who, hsn_units - hsn.balance_of(who))
            if usd is not None and usd.balance_of(who) < usd_units:
                left = usd_units - usd.balance_of(who)
                limit = int(usd._immutable("FAUCET_MAX"))
                while left > 0:
                    usd.faucet(min(left, limit), who)
                    left -= min(left, limit)
        self.echo(
            f"tokens    owners hold {OWNER_HSN // 10**18:,} HSN and {OWNER_USD // 10**6:,} tUSD "
            f"each, the lender {LENDER_USD // 10**6:,} tUSD to lend"
        )

    def demo_currency(self, lender: Any, name: str) -> Any:
        """The ``Currency`` of the demo token ``name`` (ether when it is not deployed)."""
        from hessian_common.chain.token import currency_of

        return currency_of(lender.repo.client, self.tokens.get(name))

    def currency_line(self) -> str:
        hsn, usd = self.tokens.get(HSN_NAME, "—"), self.tokens.get(TEST_USD_NAME, "—")
        return f"  currencies             HSN {hsn} (training bounty), TestUSD {usd} (loans)"

    # ---------------------------------------------------------------- insurance

    def deploy_policybook(self) -> str:
        """The recorded PolicyBook if it is linked to our ModelRepository; else deploy one."""
        from hessian_common.chain.policybook import ensure_policybook

        address, fresh = ensure_policybook(
            self.lender_client(), str(self.address), self.settings.deployments_dir
        )
        self.policybook_address = address
        self.echo(f"contract  {'deployed' if fresh else 'reusing'} PolicyBook at {address}")
        return address

    @property
    def insurance_dir(self) -> Path:
        return self.data_dir / "insurance"

    def insurance_files(self) -> tuple[Path, list[Path]]:
        """The insurer's policies and one policies file per owner (generated once)."""
        from hessian_common.data.insurance import generate_policies, write_policies

        insurer = self.insurance_dir / "insurer_policies.csv"
        owners = [self.insurance_dir / f"owner_{k:02d}_policies.csv" for k in
                  range(1, self.opts.owners + 1)]  # fmt: skip
        if insurer.is_file() and all(p.is_file() for p in owners):
            return insurer, owners
        self.insurance_dir.mkdir(parents=True, exist_ok=True)
        write_policies(generate_policies(2400, self.opts.seed + 7), insurer)
        for k, path in enumerate(owners, start=1):
            write_policies(generate_policies(1500, self.opts.seed + 7 + k), path)
        self.echo(f"data      generated motor-insurance policies in {self.insurance_dir}")
        return insurer, owners

    def make_insurance_model(self) -> int:
        """The deployed demo claims model: reuse it, else train, close and deploy one.

        The lender (dev account 0) is also the demo's insurer: a task on its generated motor
        policies (``insurance_claims``) gets one encrypted update per demo owner's policies
        file, is evaluated and closed, deployed on the PolicyBook with the default pricing
        rule (severity fitted from its own claims) and backed with capital, so a visitor can
        buy a policy and file a claim at once.
        """
        from hessian_common.chain import dev_account
        from hessian_common.chain.policybook import open_policybook
        from hessian_common.insurance.pricing import PricingPolicy
        from hessian_common.insurance.underwriting import InsuranceDesk
        from hessian_common.products.training import train_with_owner_files
        from hessian_common.tasks import TaskParams

        lender = self.open_lender()
        book = open_policybook(lender.repo.client, self.settings.deployments_dir)
        desk = InsuranceDesk(lender, book)
        for record in reversed(lender.records()):
            if record.name == DEMO_INSURANCE_NAME and book.deployment(record.model_id):
                self.insurance_model_id = record.model_id
                self.echo(f"insurance reusing deployed claims model #{record.model_id}")
                return record.model_id
        insurer_file, owner_files = self.insurance_files()
        params = TaskParams(
            name=DEMO_INSURANCE_NAME,
            bounty_wei=10**18,
            metric="auc",
            target=0.90,
            mechanism="improvement",
            deadline=int(time.time()) + 30 * 24 * 3600,
            evaluation_window=3 * 24 * 3600,
            key_size=self.opts.key_size,
            update_rule="newton",
            holdout_fraction=0.5,
            data_path=insurer_file,
            schema="insurance_claims",
        )
        self.echo(f"insurance training {DEMO_INSURANCE_NAME!r} with the owners' policies ...")
        owners = [(path, dev_account(k)) for k, path in enumerate(owner_files, start=1)]
        model_id = train_with_owner_files(lender, params, owners, self.home / "insurance-owners")
        policy = PricingPolicy(token_price=DEMO_INSURANCE_DOLLARS_PER_ETH)
        deployed = desk.deploy(model_id, policy, claims=insurer_file)
        desk.deposit(model_id, DEMO_INSURANCE_CAPITAL_ETH * 10**18)
        self.insurance_model_id = model_id
        self.echo(
            f"insurance model #{model_id} deployed (calibration {deployed.calibration.chosen}); "
            f"pool {DEMO_INSURANCE_CAPITAL_ETH} ETH"
        )
        return model_id

    def start_apps(self) -> None:
        """The company app and one data-owner app per owner, each answering HTTP 200."""
        base = self.opts.port_base
        py = [sys.executable, "-m", "hessian_cli"]
        where = ["--contract", str(self.address)]
        url = f"http://127.0.0.1:{base}"
        company = self._spawn(
            "company",
            [*py, "company", "--port", str(base), "--account", f"dev:{LENDER_DEV_INDEX}", *where],
            url,
            self.child_env(self.home),
        )
        self.urls["company"] = url
        starting = [company]
        for k in range(1, self.opts.owners + 1):
            port = base + k
            url = f"http://127.0.0.1:{port}"
            child = self._spawn(
                f"owner-{k}",
                [
                    *py,
                    "owner",
                    "--port",
                    str(port),
                    "--account",
                    f"dev:{k}",
                    "--contract",
                    str(self.address),
                ],
                url,
                self.child_env(self.home / f"owner-{k}"),
            )
            self.urls[f"owner-{k}"] = url
            starting.append(child)
        for child in starting:
            wait_http_ok(child.url + "/", child)

    def up(self) -> None:
        """All the steps, in order."""
        self.check_tools()
        self.configure()
        self.check_leftovers()
        self.check_ports()
        self.start_chain()
        self.deploy()
        self.deploy_demo_tokens()
        self.fund_demo_accounts()
        self.make_data()
        self.make_task()
        self.make_lending_model()
        self.make_insurance_model()
        self.start_apps()

    def verify(self) -> dict[str, int]:
        """GET every front page and the lending pages; ``name -> status`` (all 200 or raise)."""
        pages = {name: url + "/" for name, url in self.urls.items()}
        pages["company lending"] = self.urls["company"] + "/lending/"
        pages["company insurance"] = self.urls["company"] + "/insurance/"
        pages.update(
            {
                f"{name} borrow": url + "/borrow/"
                for name, url in self.urls.items()
                if name != "company"
            }
        )
        pages.update(
            {f"{n} insure": u + "/insure/" for n, u in self.urls.items() if n != "company"}
        )
        return {name: wait_http_ok(url, timeout=30) for name, url in pages.items()}

    def banner(self, check: bool = False) -> str:
        """What a newcomer reads once everything is up."""
        lines = ["", "Hessian demo is running:"]
        lines.append(f"  lender (company app)   {self.urls['company']}/   dev account 0")
        for k in range(1, self.opts.owners + 1):
            lines.append(f"  data owner {k}           {self.urls[f'owner-{k}']}/   dev account {k}")
        lines.append(f"  chain                  {self.rpc_url}   contract {self.address}")
        lines.append(self.currency_line())
        note = (
            f"; {self.task_note}: `hessian demo --new-task` posts a new one"
            if (self.task_note)
            else ""
        )
        lines.append(f"  demo task              model #{self.model_id} ({DEMO_TASK_NAME}){note}")
        lines.append(
            f"  deployed credit model  model #{self.lending_model_id} ({DEMO_LENDING_NAME}); "
            f"LoanBook {self.loanbook_address}"
        )
        lines.append(
            f"  borrow                 {self.urls['owner-1']}/borrow/   lend "
            f"{self.urls['company']}/lending/"
        )
        lines.extend(self.insurance_banner())
        lines.append("")
        lines.append("Files a data owner can upload (one per owner app):")
        for path in self.owner_files():
            lines.append(f"  {path}")
        lines.append("The lender's own loans (for a new task in the company app):")
        lines.append(f"  {self.data_dir / 'lender_loans.csv'}")
        lines.append(f"Logs: {self.log_dir}   State: {self.home}")
        if check:
            lines.append("Checking that every app answers, then stopping (--check).")
        else:
            lines.append("Press Ctrl-C to stop everything the demo started.")
        return "\n".join(lines)

    def insurance_banner(self) -> list[str]:
        """The banner's insurance lines."""
        return [
            f"  deployed claims model  model #{self.insurance_model_id} ({DEMO_INSURANCE_NAME}); "
            f"PolicyBook {self.policybook_address}",
            f"  insure                 {self.urls['owner-1']}/insure/   underwrite "
            f"{self.urls['company']}/insurance/",
        ]

    def shutdown(self) -> None:
        """Stop what we started, apps first, the chain last; each by its own PID."""
        order = [c for c in reversed(self.children) if c is not self.chain_child]
        order += [c for c in self.children if c is self.chain_child]
        for child in order:
            stop_pid(child.pid, child.proc)
            self.echo(f"stopped   {child.name} (PID {child.pid})")
        if self.children_started:
            # Only our own record: a refused start must not forget an earlier demo's PIDs.
            self.run_file.unlink(missing_ok=True)
        self.children.clear()


class ChainWatch:
    """Keeps the demo's chain going while the apps run (one :meth:`step` a second).

    - The chain's process ended (killed, crashed, Ctrl-C in its own terminal): the apps keep
      running; the demo says so, starts the same node again on the same state directory (the
      contracts and models are still there) and says when it answers again. After
      :data:`MAX_RESTARTS` failed starts it stops trying and prints the one command to run.
    - The process is alive but has not answered for :attr:`hang_after` seconds (paused with
      Ctrl-Z / SIGSTOP, overloaded): the demo says so once, with ``kill -CONT <pid>``, and says
      when it answers again. It does not kill a node someone paused on purpose.
    - A node the demo reused (not its own) is only reported, with the command.
    """

    MAX_RESTARTS = 3

    def __init__(self, demo: Demo, hang_after: float = 10.0, probe_every: float = 3.0) -> None:
        self.demo = demo
        self.hang_after = hang_after
        self.probe_every = probe_every
        self.failed_restarts = 0
        self.gave_up = False
        self.silent_since: float | None = None
        self.reported_hang = False
        self.next_probe = 0.0

    def _answers(self) -> str | None:
        from hessian_common.chain.outage import probe_rpc
        from hessian_common.errors import ChainUnavailable

        try:
            probe_rpc(self.demo.rpc_url, timeout=2.0)
        except ChainUnavailable as exc:
            return str(exc)
        return None

    def step(self, now: float | None = None) -> None:
        """Look at the chain once; restart or report (see the class docstring)."""
        now = time.monotonic() if now is None else now
        d = self.demo
        child = d.chain_child
        if child is not None and child.proc is not None and child.proc.poll() is not None:
            self._restart(child)
            return
        if now < self.next_probe:
            return
        self.next_probe = now + self.probe_every
        problem = self._answers()
        if problem is None:
            if self.reported_hang:
                d.echo(f"chain     answering again at {d.rpc_url}; the apps read it afresh")
            self.silent_since, self.reported_hang = None, False
            return
        if self.silent_since is None:
            self.silent_since = now
        if self.reported_hang or now - self.silent_since < self.hang_after:
            return
        self.reported_hang = True
        if child is None:
            d.echo(
                f"chain     the node at {d.rpc_url} (not started by this demo) does not "
                f"answer: {problem}. The apps keep running and show their last known state; "
                f"start it again with: {d.chain_restart_command()}"
            )
        else:
            d.echo(
                f"chain     {child.name} (PID {child.pid}) is running but has not answered for "
                f"{now - self.silent_since:.0f} s; the apps keep running and show their last "
                f"known state. If you paused it, continue it: kill -CONT {child.pid}"
            )

    def _restart(self, child: Child) -> None:
        from hessian_common.chain.node import wait_for_rpc
        from hessian_common.errors import ChainUnavailable

        d = self.demo
        code = child.proc.returncode if child.proc is not None else "?"
        if self.gave_up:
            return
        d.echo(
            f"chain     {child.name} (PID {child.pid}) stopped (exit status {code}); the apps "
            f"keep running. Starting it again on its state in {d.home / 'chain'} ..."
        )
        d.children.remove(child)
        new = d._spawn(child.name, child.command, child.url, dict(os.environ))
        d.chain_child = new
        try:
            wait_for_rpc(d.rpc_url, timeout=READY_TIMEOUT, proc=new.proc)
        except ChainUnavailable as exc:
            self.failed_restarts += 1
            if self.failed_restarts >= self.MAX_RESTARTS:
                self.gave_up = True
                if new.proc is not None and new.proc.poll() is None:
                    stop_pid(new.pid, new.proc)
                d.children.remove(new)
                d.chain_child = None
                d._write_run_file()
                d.echo(
                    f"chain     could not start it again ({exc}; log {new.log}). The apps keep "
                    f"running; start the chain yourself with: {d.chain_restart_command()}"
                )
            return
        self.failed_restarts = 0
        self.silent_since, self.reported_hang = None, False
        d.echo(f"chain     back at {d.rpc_url} (PID {new.pid}); the apps reconnect by themselves")


def leftover_children(home: Path) -> list[dict[str, Any]]:
    """Children recorded by an earlier demo in ``home`` that are still running."""
    run_file = home / "run" / "demo.json"
    try:
        payload = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [
        c
        for c in payload.get("children", [])
        if _alive_and_ours(int(c.get("pid", 0)), c.get("command") or [])
    ]


def stop_leftovers(home: Path, echo=click.echo) -> int:
    """Stop the processes an earlier demo in ``home`` left running; return how many."""
    left = leftover_children(home)
    for c in reversed(left):
        stop_pid(int(c["pid"]))
        echo(f"stopped   {c['name']} (PID {c['pid']})")
    (home / "run" / "demo.json").unlink(missing_ok=True)
    return len(left)


def default_home() -> Path:
    """``$HESSIAN_HOME`` if set, else ``./var/demo``."""
    env = os.environ.get("HESSIAN_HOME")
    return Path(env).expanduser() if env else DEFAULT_HOME


def _wants_browser() -> bool:
    return sys.platform == "darwin" or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )


# --------------------------------------------------------------------------- the command


@click.command()
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Demo state directory [default: $HESSIAN_HOME, else ./var/demo].",
)
@click.option(
    "--kind",
    type=click.Choice(["ganache", "anvil"]),
    default="ganache",
    show_default=True,
    help="Local chain to start.",
)
@click.option("--chain-port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option(
    "--port-base",
    type=click.IntRange(1, 65500),
    default=5000,
    show_default=True,
    help="Company app on this port, data owner k on port-base + k.",
)
@click.option("--owners", type=click.IntRange(1, 8), default=2, show_default=True)
@click.option(
    "--rows",
    type=click.IntRange(1000, 500_000),
    default=6000,
    show_default=True,
    help="Loans generated for the owners (split between them, plus the lender's hold-out).",
)
@click.option(
    "--key-size",
    type=click.Choice(["512", "1024", "2048"]),
    default="1024",
    show_default=True,
    help="Paillier key of the ready-made demo task (2048 is the production default).",
)
@click.option(
    "--bounty",
    type=click.FloatRange(0.001, 1_000_000),
    default=1000.0,
    show_default=True,
    help="Bounty of the demo task, in HSN (the Hessian token).",
)
@click.option("--no-browser", is_flag=True, help="Do not open the company app in a browser.")
@click.option(
    "--check",
    "--exit-after-ready",
    "check",
    is_flag=True,
    help="Bring everything up, check every app answers HTTP 200, then stop and exit.",
)
@click.option(
    "--new-task",
    is_flag=True,
    help="Post and fund a new demo training task even if one exists (e.g. after closing it).",
)
@click.option("--stop", is_flag=True, help="Stop processes a previous demo left running.")
def demo(
    home: Path | None,
    kind: str,
    chain_port: int,
    port_base: int,
    owners: int,
    rows: int,
    key_size: str,
    bounty: float,
    no_browser: bool,
    check: bool,
    new_task: bool,
    stop: bool,
) -> None:
    """Run the whole system locally: chain, contract, demo data and task, both apps.

    A second run reuses what the first made (chain state, contract, data, both demo models,
    even a closed demo task: --new-task posts and funds a new one). If the chain stops, the
    apps stay up and the demo starts it again. Ctrl-C stops everything the demo started.
    """
    home = (home or default_home()).expanduser().resolve()
    if stop:
        n = stop_leftovers(home)
        click.echo(f"stopped {n} process(es) of the demo in {home}" if n else "nothing to stop")
        return
    opts = DemoOptions(
        home=home,
        kind=kind,
        chain_port=chain_port,
        port_base=port_base,
        owners=owners,
        rows=rows,
        key_size=int(key_size),
        bounty_eth=bounty,
        open_browser=not no_browser and not check,
        new_task=new_task,
    )
    run_demo(opts, check=check)


def run_demo(opts: DemoOptions, check: bool = False) -> int:
    """Bring the demo up; with ``check`` verify and stop, else wait for Ctrl-C / SIGTERM."""
    d = Demo(opts)
    stop_event = threading.Event()

    def _on_signal(signum: int, _frame: Any) -> None:
        stop_event.set()
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            d.up()
            click.echo(d.banner(check))
            if check:
                statuses = d.verify()
                click.echo("check     " + ", ".join(f"{n} HTTP {s}" for n, s in statuses.items()))
                return 0
            if opts.open_browser and _wants_browser():
                webbrowser.open(d.urls["company"] + "/")
            while not stop_event.wait(1.0):
                d.watch.step()  # the chain: restarted or reported, the apps stay up
                for child in d.children:
                    if child is d.chain_child:
                        continue
                    if child.proc is not None and child.proc.poll() is not None:
                        raise HessianError(
                            f"{child.name} (PID {child.pid}) exited with status "
                            f"{child.proc.returncode}; log {child.log}:\n{_tail(child.log)}"
                        )
        except KeyboardInterrupt:
            click.echo("\nstopping ...")
            return 0
        finally:
            # No second Ctrl-C may interrupt the clean-up half-way.
            for s in previous:
                signal.signal(s, signal.SIG_IGN)
            d.shutdown()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
