"""Checking a file before anything is sent: the schema, replays, the model, reused rows.

Every refusal here happens before the journal entry is written, so a refused file leaves no
trace (the contract would refuse the same things, but only after a deposit and a fee).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hessian_common.chain.repository import ModelRepository
from hessian_common.data import load_file
from hessian_common.errors import ChainUnavailable, DataError
from hessian_common.format import format_amount
from hessian_common.journal import Entry, Journal
from hessian_common.learning.spec import ModelSpec
from hessian_common.owner.models import OpenModel, schema_of
from hessian_common.types import hex32

MIN_ROWS = 10
"""Fewest usable rows an owner may submit: an update from a handful of rows says too much
about each of them (the lender decrypts ``w'``, which for tiny ``N`` nearly pins ``X``)."""

ROW_REUSE_LIMIT = 0.05
"""Largest share of a submission's rows that may repeat rows already sent to the model (by
this owner, checked here from the journal, or by anyone, checked by the lender from the sealed
pseudonyms) or repeat each other: above it the file is refused here and the update rejected
there (``Reason.DUPLICATE_ROWS``)."""


@dataclass(frozen=True)
class ValidationReport:
    """What checking a file against a model's schema found (nothing has been sent).

    ``problems`` are ``(row, column, message)`` with ``row`` the file's line number.
    """

    source: str
    schema_name: str
    rows: int
    defaults: int
    excluded: dict[str, int]
    problems: list[tuple[int, str, str]]
    problem_count: int
    digest: str
    columns: list[str]
    non_loan_lines: int = 0
    data: Any = field(default=None, repr=False, compare=False)

    @property
    def default_rate(self) -> float:
        """Share of usable rows that defaulted."""
        return self.defaults / self.rows if self.rows else 0.0

    @property
    def excluded_total(self) -> int:
        """Rows left out (unresolved loans and the like)."""
        return sum(self.excluded.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (without the data)."""
        return {
            "source": self.source,
            "schema": self.schema_name,
            "rows": self.rows,
            "defaults": self.defaults,
            "default_rate": round(self.default_rate, 6),
            "excluded": dict(self.excluded),
            "excluded_total": self.excluded_total,
            "problems": [list(p) for p in self.problems],
            "problem_count": self.problem_count,
            "digest": self.digest,
            "columns": list(self.columns),
        }


def validate_for_model(
    path: str | Path,
    spec: ModelSpec,
    *,
    label: str | None = None,
    max_bytes: int | None = None,
    min_rows: int = MIN_ROWS,
) -> ValidationReport:
    """Check the CSV at ``path`` against the schema of ``spec`` and describe it.

    Parameters
    ----------
    path : str or Path
        A CSV file on this machine (read, never copied or sent).
    spec : ModelSpec
        The model's spec; its schema and preprocessing decide what is usable.
    label : str, optional
        The name to show for the file (an upload's original name); defaults to the path.
    max_bytes : int, optional
        Refuse larger files (the loader's own cap otherwise).
    min_rows : int
        Fewest usable rows (see :data:`MIN_ROWS`).

    Raises
    ------
    DataError, SchemaError
        The file cannot be used (not a CSV, wrong encoding, wrong columns or types, empty,
        too few usable rows); the message names the file, row and column.
    """
    kwargs: dict[str, Any] = {}
    if max_bytes is not None:
        kwargs["max_bytes"] = int(max_bytes)
    data = load_file(path, schema_of(spec), **kwargs)
    name = label or str(path)
    if data.rows < min_rows:
        raise DataError(
            f"{name}: only {data.rows} usable loan rows (at least {min_rows} are needed; "
            f"{sum(data.excluded.values())} rows were excluded as unresolved)"
        )
    if data.rows == data.defaults or data.defaults == 0:
        kind = "defaulted" if data.defaults else "were repaid"
        # one class only is allowed: the gradient is still meaningful, but say so in problems
        problems = [(0, data.schema.label.column, f"all {data.rows} usable loans {kind}")]
    else:
        problems = []
    problems += [(p.row, p.column, p.message) for p in data.problems]
    return ValidationReport(
        source=name,
        schema_name=data.schema.name,
        rows=data.rows,
        defaults=data.defaults,
        excluded=dict(sorted(data.excluded.items())),
        problems=problems,
        problem_count=data.problem_count + (len(problems) - len(data.problems)),
        digest="0x" + data.digest().hex(),
        columns=list(data.features.columns),
        non_loan_lines=data.non_loan_lines,
        data=data,
    )


# ---------------------------------------------------------------------- replay


@dataclass(frozen=True)
class ReplayCheck:
    """Was this dataset digest already sent to this model?"""

    model_id: int
    digest: str
    journal_entry: Entry | None
    on_chain_update: int | None
    on_chain_owner: str | None
    chain_checked: bool = True

    @property
    def blocked(self) -> bool:
        """True when a submission would be refused (by the contract or our own journal)."""
        return self.journal_entry is not None or self.on_chain_update is not None

    @property
    def message(self) -> str:
        """What to tell the owner (empty when not blocked)."""
        if self.on_chain_update is not None:
            return (
                f"You already submitted this exact data set (digest {self.digest[:18]}…) to "
                f"model {self.model_id} as update #{self.on_chain_update}. The contract "
                "refuses the same data twice per model and owner, so it cannot be sent again; "
                "new or different data can be."
            )
        if self.journal_entry is not None:
            return (
                f"You already submitted this exact data set to model {self.model_id} "
                f"(journal entry #{self.journal_entry.id}, {self.journal_entry.state}). The "
                "contract refuses the same data twice per model, so it cannot be sent again; "
                "new or different data can be."
            )
        return ""


def already_submitted(
    journal: Journal, repo: ModelRepository | None, model_id: int, digest: bytes | str, owner: str
) -> ReplayCheck:
    """Check both this owner's journal and the contract's ``digestUsedBy(model, owner, digest)``
    for ``digest`` (replays are per owner: another account's copy does not block ours).

    ``repo`` may be ``None``, or the chain may be down: only the journal is checked then
    (``chain_checked`` is ``False``; the journal worker checks the chain again before sending).
    """
    d = hex32(digest, "dataset digest")
    entry = journal.find(model_id, owner, d)
    update_id, checked = None, repo is not None
    if repo is not None:
        try:
            update_id = repo.digest_used(int(model_id), bytes.fromhex(d[2:]), owner=owner) or None
        except ChainUnavailable:
            checked = False
    return ReplayCheck(int(model_id), d, entry, update_id, owner if update_id else None, checked)


def check_row_reuse(pseudonyms: list[bytes], seen: set[bytes]) -> None:
    """Refuse (``DataError``) a file whose rows repeat each other or rows this owner already
    sent to the model beyond :data:`ROW_REUSE_LIMIT` (slices or repeats of one file)."""
    reused = reused_rows(pseudonyms, seen)
    if reused > ROW_REUSE_LIMIT * len(pseudonyms):
        raise DataError(
            f"{reused} of the {len(pseudonyms)} rows repeat rows of this file or rows you "
            "already submitted to this model; at most "
            f"{ROW_REUSE_LIMIT:.0%} may. Reused rows add nothing to the model and are not "
            "paid: send only new loans."
        )


def check_can_submit(model: OpenModel, repo: ModelRepository | None, owner: str) -> None:
    """Refuse early (``DataError``) what the contract would refuse: closed, past deadline,
    unverifiable spec, deposit above the balance (not checked when ``repo`` is ``None``)."""
    if not model.is_open:
        raise DataError(f"model {model.model_id} is closed; it takes no more submissions")
    if model.deadline <= time.time():
        raise DataError(f"model {model.model_id} passed its deadline; it takes no submissions")
    if model.spec is None:
        raise DataError(f"model {model.model_id}: its spec cannot be used ({model.spec_error})")
    if not model.contract or not model.chain_id:
        raise DataError(f"model {model.model_id}: read it from the chain first")
    if repo is None:
        return
    try:
        balance = int(repo.client.balance(owner))
    except ChainUnavailable:
        return  # checked again by the contract when the journal sends it
    if balance < model.deposit:
        raise DataError(
            f"the submission deposit is {format_amount(model.deposit)} but {owner} holds "
            f"{format_amount(balance)}"
        )


def row_pseudonyms(spec: ModelSpec, data: Any) -> list[bytes] | None:
    """The 8-byte pseudonyms of ``data``'s rows under the spec's salt (None without one)."""
    if not getattr(spec, "row_salt", None):
        return None
    return data.row_pseudonyms(bytes.fromhex(spec.row_salt))


def reused_rows(pseudonyms: list[bytes], seen: set[bytes]) -> int:
    """How many of ``pseudonyms`` repeat ``seen`` or an earlier one of the same list."""
    reused, mine = 0, set()
    for p in pseudonyms:
        if p in seen or p in mine:
            reused += 1
        mine.add(p)
    return reused
