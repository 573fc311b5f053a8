#!/usr/bin/env python3
"""Run the Hessian demo: the same as ``hessian demo`` (see ``hessian demo --help``).

Usage: ``python scripts/demo.py [--check] [--kind anvil] ...`` from the checkout.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hessian_cli.main import cli

if __name__ == "__main__":
    cli(["demo", *sys.argv[1:]])
