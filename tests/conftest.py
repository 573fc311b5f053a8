"""Top-level pytest configuration: shared fixtures live in tests/fixtures/*, one module per room.

Hypothesis runs *derandomized* by default: every ``make test`` (and CI) draws the same examples,
so a run is reproducible and a red CI is a real regression, not an unlucky seed. To search fresh
random examples (and 1,000 of them where a test does not set its own count), set
``HYPOTHESIS_PROFILE=explore``; a failure prints the ``@reproduce_failure`` blob to replay it.
"""

import os

from hypothesis import settings

settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

pytest_plugins = [
    "tests.fixtures.chain",
    "tests.fixtures.store",
    "tests.fixtures.data",
    "tests.fixtures.browser",
    "tests.fixtures.lender",
]
