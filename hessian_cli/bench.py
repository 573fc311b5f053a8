"""``hessian bench``: benchmarks that print a ratio against a baseline measured in the same run."""

from __future__ import annotations

import click

from hessian_cli.lazy import LazyGroup

BENCHES = {
    "gas": "hessian_cli.chain:bench_gas",
    "update": "hessian_cli.bench_update:bench_update",
    "store": "hessian_cli.store:bench_store",
    "lending": "hessian_cli.bench_lending:bench_lending",
    "models": "hessian_cli.bench_models:bench_models",
    "scale": "hessian_cli.bench_scale:bench_scale",
}


@click.group(cls=LazyGroup, lazy=BENCHES)
def bench() -> None:
    """Benchmarks: gas per operation, encrypted-update speed, store round-trips, lending."""
