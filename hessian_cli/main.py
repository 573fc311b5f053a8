"""Entry point of the ``hessian`` console script.

Every command is in its own module and registered here by name; see :class:`LazyGroup`.
Errors derived from :class:`hessian_common.errors.HessianError` become a one-line message and
exit status 1, never a traceback.
"""

from __future__ import annotations

import sys

import click

from hessian_cli.lazy import LazyGroup
from hessian_common.errors import HessianError

COMMANDS = {
    "node": "hessian_cli.node:node",
    "deploy": "hessian_cli.chain:deploy",
    "data": "hessian_cli.data:data",
    "train": "hessian_cli.train:train",
    "store": "hessian_cli.store:store",
    "bench": "hessian_cli.bench:bench",
    "company": "hessian_cli.company:company",
    "owner": "hessian_cli.owner:owner",
    "demo": "hessian_cli.demo:demo",
    "audit": "hessian_cli.audit:audit",
    "simulate": "hessian_cli.simulate:simulate",
    "token": "hessian_cli.token:token",
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hessian")
def _group() -> None:
    """Hessian: train a Paillier-encrypted credit model with data owners, paid on chain."""


def cli(argv: list[str] | None = None) -> None:
    """Run the CLI; turn Hessian errors into a clear message and exit status 1."""
    try:
        status = _group.main(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HessianError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    if isinstance(status, int) and not isinstance(status, bool) and status:
        sys.exit(status)


if __name__ == "__main__":
    cli()
