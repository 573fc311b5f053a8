"""The one place the apps, the CLI and the simulation make their contract wrappers.

Each party reads its contracts' events through a local
:class:`~hessian_common.chain.index.EventIndex` kept in its own home, one SQLite file per chain
and contract::

    $HESSIAN_HOME/company/index/<chainId>-<address>.sqlite     (the company app, the lender)
    <owner state>/index/<chainId>-<address>.sqlite             (a data-owner app)

so a page costs what it shows (:mod:`hessian_common.chain.pages`) and a restart resumes from
the last indexed block. :func:`repository_for`, :func:`loanbook_for` and :func:`policybook_for`
build a wrapper from an address or the deployment record and attach that index;
:func:`with_index` attaches one to a wrapper made elsewhere (e.g. injected by a test).
``index_dir=None`` reads plain logs (a local node, the in-process test chain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from hessian_common.chain.deploy import open_loanbook, open_repository
from hessian_common.chain.loanbook import LoanBook
from hessian_common.chain.policybook import PolicyBook, open_policybook
from hessian_common.chain.repository import ModelRepository

W = TypeVar("W")

INDEX_DIR = "index"
"""Sub-directory of a party's state directory holding its event indexes."""


def index_dir(state_dir: str | Path) -> Path:
    """``<state_dir>/index``: where a party keeps its event indexes."""
    return Path(state_dir) / INDEX_DIR


def with_index(wrapper: W, directory: str | Path | None, **options: Any) -> W:
    """Attach ``<directory>/<chainId>-<address>.sqlite`` to ``wrapper`` unless it already reads
    through an index or ``directory`` is None; returns the wrapper."""
    if directory is not None and getattr(wrapper, "index", None) is None:
        wrapper.attach_index(Path(directory), **options)  # type: ignore[attr-defined]
    return wrapper


def repository_for(
    client: Any,
    *,
    address: str | None = None,
    deployments_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
) -> Any:
    """The ``ModelRepository`` at ``address``, else the one recorded in ``deployments_dir``
    (``open_repository``), reading its events through an index in ``index_dir``."""
    repo = ModelRepository(client, address) if address else open_repository(client, deployments_dir)
    return with_index(repo, index_dir)


def loanbook_for(
    client: Any,
    *,
    address: str | None = None,
    deployments_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
) -> Any:
    """The ``LoanBook`` at ``address``, else the one recorded in ``deployments_dir``
    (``open_loanbook``; ``DeploymentNotFound`` if none), with an index in ``index_dir``."""
    book = LoanBook(client, address) if address else open_loanbook(client, deployments_dir)
    return with_index(book, index_dir)


def policybook_for(
    client: Any,
    *,
    address: str | None = None,
    deployments_dir: str | Path | None = None,
    index_dir: str | Path | None = None,
) -> Any:
    """The ``PolicyBook`` at ``address``, else the one recorded in ``deployments_dir``
    (``open_policybook``; ``DeploymentNotFound`` if none), with an index in ``index_dir``."""
    book = PolicyBook(client, address) if address else open_policybook(client, deployments_dir)
    return with_index(book, index_dir)


__all__ = [
    "INDEX_DIR",
    "index_dir",
    "loanbook_for",
    "policybook_for",
    "repository_for",
    "with_index",
]
