"""Owner workflow + journal tests: fixtures in ``tests/owner/fixtures.py``."""

from tests.owner.fixtures import (  # noqa: F401
    chain_repo,
    journal,
    lender,
    owner_repo,
    owner_split,
    owner_store,
)
