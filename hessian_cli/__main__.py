from hessian_cli.main import cli

cli()
