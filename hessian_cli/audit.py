"""``hessian audit MODEL_ID``: anyone re-checks a revealed model from the chain and the store.

No key is needed: the decryption transcript the lender published with the reveal opens every
ciphertext it decrypted (plaintext and randomness), so each is re-encrypted and compared with
the ciphertexts on the store, and every recorded score is recomputed on the revealed test set
(:func:`hessian_common.tasks.audit.audit_model`). Exit status 0 when everything matches,
2 when a score, a weight or a verdict contradicts the evidence (each named in the report).
"""

from __future__ import annotations

import json

import click


@click.command()
@click.argument("model_id", type=int)
@click.option("--rpc", "rpc_url", help="Ethereum JSON-RPC URL (default: settings, :8545).")
@click.option("--contract", help="ModelRepository address (default: the deployment record).")
@click.option("--home", type=click.Path(file_okay=False), help="Hessian home ($HESSIAN_HOME).")
@click.option("--store-dir", type=click.Path(file_okay=False), help="Embedded store directory.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def audit(
    model_id: int,
    rpc_url: str | None,
    contract: str | None,
    home: str | None,
    store_dir: str | None,
    as_json: bool,
) -> None:
    """Audit a revealed model: commitment, decryption proofs, scores and verdicts."""
    from eth_account import Account

    from hessian_common.chain import ChainClient, ModelRepository, connect, open_repository
    from hessian_common.config import load_settings
    from hessian_common.store import open_store
    from hessian_common.tasks import audit_model

    settings = load_settings(home=home, rpc_url=rpc_url, store_dir=store_dir)
    client = ChainClient(connect(settings.rpc_url), Account.create())  # read-only
    if contract:
        repo = ModelRepository(client, contract)
    else:
        repo = open_repository(client, settings.deployments_dir)
    report = audit_model(repo, open_store(settings), model_id)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=1))
    else:
        click.echo(
            f"model #{model_id} (lender {report.lender}): test set {report.test_set_cid} "
            f"({report.test_rows} rows), transcript {report.transcript_cid}"
        )
        click.echo(f"commitment: {'matches' if report.commitment_ok else 'MISMATCH'}")
        for row in report.rows:
            rec = "—" if row.recorded is None else f"{row.recorded:.6f}"
            got = "—" if row.recomputed is None else f"{row.recomputed:.6f}"
            click.echo(
                f"  {row.label:<40} recorded {rec:<8} recomputed {got:<8} proof {row.proof:<6} "
                f"{row.verdict.upper()}"
            )
            for line in row.evidence:
                click.echo(f"      {line}")
        for note in report.notes:
            click.echo(f"  note: {note}")
        click.echo(
            f"{report.matched} ok, {len(report.mismatches)} mismatch(es), "
            f"{report.unverifiable} unverifiable of {report.checked}: "
            f"{'CLEAN' if report.ok else 'THE LENDER IS CONTRADICTED BY THE EVIDENCE'}"
        )
    if not report.ok:
        raise SystemExit(2)
