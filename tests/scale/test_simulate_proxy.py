"""``hessian simulate --rpc-proxy``: a tiny run through the provider-like proxy reports its
throughput and what the proxy refused (the shape, never the timings)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hessian_cli.simulate import simulate


@pytest.mark.anvil
def test_a_tiny_simulation_through_the_proxy(tmp_path):
    args = [
        "--owners", "3", "--bad", "0", "--borrowers", "0", "--chain", "anvil", "--rpc-proxy",
        "--proxy-caps", "max_range=50,max_results=20,rate=100,burst=50,random_429=0.05",
        "--key-bits", "512", "--shapley-permutations", "0", "--target", "0.99", "--quiet",
        "--json", "--out", str(tmp_path / "report"),
    ]  # fmt: skip
    result = CliRunner().invoke(simulate, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    t = summary["throughput"]
    assert t["evaluated"] == 3 and t["evaluation_s"] > 0 and t["evaluations_per_minute"] > 0
    assert t["wall_s"] >= t["evaluation_s"]
    proxy = summary["rpc_proxy"]
    assert proxy["requests"] > 0 and proxy["get_logs"] > 0 and "max_range=50" in proxy["caps"]
    assert summary["audit_mismatches"] == 0


def test_rpc_proxy_wants_its_own_node(tmp_path):
    out = ["--out", str(tmp_path / "r"), "--quiet"]
    result = CliRunner().invoke(simulate, ["--rpc-proxy", "--rpc", "http://127.0.0.1:9", *out])
    assert result.exit_code == 2 and "--rpc-proxy" in result.output
    result = CliRunner().invoke(simulate, ["--rpc-proxy", "--proxy-caps", "speed=3", *out])
    assert result.exit_code == 2 and "--proxy-caps" in result.output
