#!/usr/bin/env python3
"""Deploy ModelRepository: a thin wrapper of ``hessian deploy`` (same options).

python scripts/deploy.py --rpc http://127.0.0.1:8545 --account dev:0
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hessian_cli.main import cli

if __name__ == "__main__":
    cli(["deploy", *sys.argv[1:]])
