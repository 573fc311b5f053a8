"""Top-level pytest configuration: shared fixtures live in tests/fixtures/*, one module per room."""

pytest_plugins = [
    "tests.fixtures.chain",
    "tests.fixtures.store",
    "tests.fixtures.data",
    "tests.fixtures.browser",
]
