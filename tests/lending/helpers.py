"""Helpers of the lending tests (plain names; the fixtures are in ``conftest.py``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.fixtures.lending import lending_task

PASSPHRASE = "lending-test-passphrase"


def make_task(lender: Any, data_path: Path, name: str = "Lending test") -> int:
    """The small lending task, left OPEN (see :mod:`tests.fixtures.lending`)."""
    return lending_task(lender, data_path, name=name, mu=0.5, holdout_fraction=0.4)
