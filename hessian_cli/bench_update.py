"""``hessian bench update``: one owner's encrypted update, against same-run baselines.

An owner's submission is ``enc(w') = P·enc(w) + q`` on d Paillier ciphertexts: d² ciphertext ×
scalar products and d randomisers ``r^n`` (:mod:`hessian_common.crypto.raw`). What is timed,
all on the same key, the same ``P`` (one gradient step from N generated rows), the same
processes:

- the kernel: today's (``straus``: Straus 4-bit windows, rows split over the processes, d fresh
  randomisers — the kernel every update used before issue 17) against the new one
  (``grouped``: bit-sliced subset tables, groups split over the processes) with what depends
  only on the key and the model's current ciphertexts precomputed — its randomisers in the
  key's pool and its subset tables (:func:`hessian_common.crypto.multiexp.prepare_tables`),
  both built before the timer, as the owner's are while the owner reviews the file — and with
  nothing precomputed (``new_fresh``: tables built and randomisers computed in the call);
  each also without randomisers (products only), which gives the share of time spent in
  randomisation; ``kernel_speedup`` = today's ÷ new. The ``naive`` kernel (one ``powmod``
  per product, ``phe``'s way) is timed once. The products of all of them must be identical
  integers, and the decryption equal to ``P·w + q``. ``tables_s``: building the tables once.
- ``submission_s``: one whole submission with the new kernel — the update from the owner's
  rows, ``apply_encrypted`` with randomisation (precomputed randomisers and tables), the
  blob's JSON; ``submission_fresh_s`` the same with both computed in the submission.
- per N in ``--rows``: the affine rule (``gradient_step(X, y).apply_encrypted``, fresh
  randomisers) against the naive per-row reference (``naive_encrypted_gradient_step``:
  ≈ 2·N·d ``phe`` operations), and their decrypted difference.
- the one-core floor of the d² products taken one ``powmod`` each, the d randomisers, and the
  affine rule through ``phe``'s operators.

Timings are medians over ``--repeat`` runs, the variants interleaved in each run so a busy
machine slows them alike; ``cpu_s`` gives the same medians in CPU seconds of all the processes
(this one and its forked workers), which other work on a shared machine disturbs less.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

import click

KERNEL_LABELS = {
    "today": "today's: Straus 4-bit windows, fresh r^n",
    "new": "new: grouped subset tables, tables and r^n precomputed",
    "new_fresh": "new, nothing precomputed (tables built, fresh r^n)",
}


def _median_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the forked workers)."""
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _ratio(a: float, b: float) -> float | None:
    """``a / b``, or None when ``b`` is below the CPU clock's resolution."""
    return a / b if b > 0 else None


def _share(products: float, total: float) -> float:
    """Share of ``total`` not spent on the products (clamped to [0, 1] against timing noise)."""
    return min(1.0, max(0.0, 1.0 - products / total)) if total > 0 else 0.0


@click.command("update")
@click.option("--dim", type=click.IntRange(2, 500), default=30, show_default=True)
@click.option("--key-bits", type=click.IntRange(256, 8192), default=2048, show_default=True)
@click.option("--rows", "rows_opt", default="1000,10000", show_default=True,
              help="comma-separated N values")  # fmt: skip
@click.option("--workers", type=click.IntRange(1, 256), help="processes (default: one per core)")
@click.option("--repeat", type=click.IntRange(1, 100), default=3, show_default=True,
              help="timings are the median of this many runs")  # fmt: skip
@click.option("--naive-sample", type=click.IntRange(1, 10_000_000),
              help="time the naive reference on this many rows and scale linearly to N "
                   "(marked as scaled in the output); default: full measurement")  # fmt: skip
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def bench_update(
    dim: int,
    key_bits: int,
    rows_opt: str,
    workers: int | None,
    repeat: int,
    naive_sample: int | None,
    seed: int,
    as_json: bool,
) -> None:
    """Time one owner submission: today's kernel vs the new one, the naive references, same run.

    Prints the kernel table (products, with randomisers, randomisation share, kernel_speedup,
    submission_s) and, per N, the affine rule against the naive per-row reference.
    """
    try:
        ns = [int(x) for x in rows_opt.split(",") if x.strip()]
    except ValueError:
        raise click.BadParameter(f"{rows_opt!r} is not a comma-separated list of integers",
                                 param_hint="--rows") from None  # fmt: skip
    if not ns or min(ns) < 1:
        raise click.BadParameter("give at least one positive N", param_hint="--rows")
    say = (lambda *a: None) if as_json else (lambda msg: click.echo(msg, err=True))
    report = _run(dim, key_bits, ns, workers, repeat, naive_sample, seed, say)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print(report)


def _run(
    dim: int,
    key_bits: int,
    ns: list[int],
    workers: int | None,
    repeat: int,
    naive_sample: int | None,
    seed: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    import gmpy2
    import numpy as np

    from hessian_common.crypto import (
        decrypt_vector,
        encrypt_vector,
        generate_keypair,
        multiexp,
        raw,
    )
    from hessian_common.crypto import randomisers as rnd
    from hessian_common.crypto.paillier import encode_fixed
    from hessian_common.learning.updates import (
        P_EXPONENT,
        gradient_step,
        naive_encrypted_gradient_step,
    )

    rng = np.random.default_rng(seed)
    n_workers = workers or os.cpu_count() or 1
    say(f"generating a {key_bits}-bit key ...")
    pk, sk = generate_keypair(key_bits)
    pool = rnd.pool_for(pk.n)
    w = rng.normal(0, 0.5, size=dim)
    enc_w = encrypt_vector(pk, w, workers=workers)

    # ---- floor, one core: d² products c^k (48-bit k), each alone; d randomisers r^n
    c = gmpy2.mpz(enc_w.ciphertexts[0])
    nsq = gmpy2.mpz(pk.nsquare)
    ks = [gmpy2.mpz(int(x)) for x in rng.integers(2**47, 2**48, size=dim * dim)]
    floor, _ = _timed(lambda: [gmpy2.powmod(c, k, nsq) for k in ks])
    obf, _ = _timed(lambda: rnd.fresh(pk.n, pk.nsquare, dim))

    # ---- the affine rule through phe's operators (no common exponent, no shared squarings)
    X0 = np.hstack([np.ones((100, 1)), rng.normal(size=(100, dim - 1))])
    u0 = gradient_step(X0, (rng.random(100) < 0.2).astype(float))
    nums = enc_w.to_numbers()

    def phe_affine() -> list[Any]:
        out = []
        for i in range(dim):
            acc = nums[0] * float(u0.P[i, 0])
            for j in range(1, dim):
                acc = acc + nums[j] * float(u0.P[i, j])
            acc = acc + float(u0.q[i])
            acc.obfuscate()
            out.append(acc)
        return out

    phe_affine_s, _ = _timed(phe_affine)

    # ---- the kernels, on one owner's update (N = the first --rows value)
    n0 = ns[0]
    Xk = np.hstack([np.ones((n0, 1)), rng.normal(size=(n0, dim - 1))])
    yk = (rng.random(n0) < 0.2).astype(float)
    update = gradient_step(Xk, yk, l2=0.0)
    e_min = min(enc_w.exponents)
    P = [[encode_fixed(update.P[i, j], P_EXPONENT, pk) for j in range(dim)] for i in range(dim)]
    q = [encode_fixed(update.q[i], P_EXPONENT + e_min, pk) for i in range(dim)]
    cts = list(enc_w.ciphertexts)

    def kernel(name: str, **kw: Any) -> Callable[[], list[int]]:
        return lambda: raw.parallel_affine_rows(
            cts, P, q, pk.n, pk.nsquare, workers, kernel=name, **kw
        )

    def nothing() -> None:  # nothing precomputed
        pool.discard()
        multiexp.forget_tables()

    def tables() -> None:  # the tables of the current weights, as the owner's review builds
        multiexp.precompute_tables(cts, pk.nsquare)

    def everything() -> None:
        pool.fill(dim)
        tables()

    def tables_only() -> None:
        nothing()
        tables()

    variants: dict[str, tuple[Callable[[], Any], Callable[[], None]]] = {
        "products_today": (kernel("straus", obfuscate=False), nothing),
        "products_new": (kernel("grouped", obfuscate=False), tables_only),
        "products_new_fresh": (kernel("grouped", obfuscate=False), nothing),
        "today": (kernel("straus", randomisers="fresh"), nothing),
        "new": (kernel("grouped", randomisers="pool"), everything),
        "new_fresh": (kernel("grouped", randomisers="fresh"), nothing),
    }

    def submission() -> str:
        u = gradient_step(Xk, yk, l2=0.0)
        return u.apply_encrypted(enc_w, workers=workers).to_json()

    variants["submission"] = (submission, everything)
    variants["submission_fresh"] = (submission, nothing)
    say(f"d = {dim}: timing the kernels and a submission ({repeat} interleaved runs) ...")
    times: dict[str, list[float]] = {k: [] for k in variants}
    cpus: dict[str, list[float]] = {k: [] for k in variants}
    outs: dict[str, Any] = {}
    for _ in range(repeat):
        for name, (fn, prepare) in variants.items():
            prepare()
            cpu = _cpu()
            t, outs[name] = _timed(fn)
            cpus[name].append(_cpu() - cpu)
            times[name].append(t)
    tables_runs = []
    for _ in range(max(1, min(repeat, 3))):
        nothing()
        tables_runs.append(_timed(tables)[0])
    nothing()
    tables_s = statistics.median(tables_runs)
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_s = {k: statistics.median(v) for k, v in cpus.items()}
    say("naive kernel (one powmod per product), once ...")
    naive_s, naive_products = _timed(kernel("naive", obfuscate=False))
    identical = (
        outs["products_today"] == outs["products_new"] == outs["products_new_fresh"]
        == naive_products
    )  # fmt: skip
    want = update.apply(w)
    diffs = {}
    for name in ("today", "new", "new_fresh"):
        enc = type(enc_w)(pk, tuple(outs[name]), (P_EXPONENT + e_min,) * dim)
        diffs[name] = float(np.max(np.abs(decrypt_vector(sk, enc) - want)))
    sub_enc = type(enc_w).from_json(outs["submission"], pk)
    diffs["submission"] = float(np.max(np.abs(decrypt_vector(sk, sub_enc) - want)))

    # ---- per N: the affine rule vs the naive per-row reference
    results = []
    for n in ns:
        X = np.hstack([np.ones((n, 1)), rng.normal(size=(n, dim - 1))])
        y = (rng.random(n) < 0.2).astype(float)

        def affine(X: Any = X, y: Any = y) -> Any:
            return gradient_step(X, y, l2=0.0).apply_encrypted(enc_w, workers=workers)

        t_aff, enc_aff = _median_time(affine, repeat)
        m = n if naive_sample is None else min(n, naive_sample)
        say(f"N={n}: affine {t_aff:.3f} s; naive reference on {m} rows ...")
        t_naive, enc_naive = _timed(
            lambda X=X, y=y, m=m: naive_encrypted_gradient_step(
                enc_w, X[:m], y[:m], workers=workers
            )
        )
        t_naive *= n / m
        err = None
        if m == n:
            err = float(np.max(np.abs(decrypt_vector(sk, enc_naive) - decrypt_vector(sk, enc_aff))))
        results.append({
            "rows": n, "affine_s": t_aff, "naive_s": t_naive, "speedup": t_naive / t_aff,
            "naive_rows_measured": m, "naive_scaled": m != n, "max_abs_diff": err,
        })  # fmt: skip

    return {
        "dim": dim, "key_bits": key_bits, "workers": n_workers, "repeat": repeat,
        "floor_d2_powmod_s": floor, "obfuscation_d_s": obf, "phe_operators_affine_s": phe_affine_s,
        "kernel_rows": n0,
        "products_today_s": med["products_today"], "products_new_s": med["products_new"],
        "products_new_fresh_s": med["products_new_fresh"], "tables_s": tables_s,
        "products_naive_s": naive_s,
        "products_speedup": med["products_today"] / med["products_new"],
        "products_speedup_fresh": med["products_today"] / med["products_new_fresh"],
        "kernel_today_s": med["today"], "kernel_new_s": med["new"],
        "kernel_new_fresh_s": med["new_fresh"],
        "kernel_speedup": med["today"] / med["new"],
        "kernel_speedup_fresh": med["today"] / med["new_fresh"],
        "cpu_s": cpu_s, "kernel_speedup_cpu": _ratio(cpu_s["today"], cpu_s["new"]),
        "products_speedup_cpu": _ratio(cpu_s["products_today"], cpu_s["products_new"]),
        "naive_speedup": naive_s / med["products_new"],
        "randomisation_share_today": _share(med["products_today"], med["today"]),
        "randomisation_share_new": _share(med["products_new"], med["new"]),
        "randomisation_share_new_fresh": _share(med["products_new_fresh"], med["new_fresh"]),
        "submission_s": med["submission"], "submission_fresh_s": med["submission_fresh"],
        "submission_randomisers": "precomputed", "submission_tables": "precomputed",
        "identical_ciphertexts": identical,
        "kernel_max_abs_diff": max(diffs.values()),
        "results": results,
    }  # fmt: skip


def _fmt(ratio: float | None) -> str:
    return "n/a" if ratio is None else f"{ratio:.2f}"


def _print(r: dict[str, Any]) -> None:
    dim, procs = r["dim"], r["workers"]
    click.echo(
        f"\n## Encrypted update kernel, d = {dim} ({r['key_bits']}-bit key, {procs} processes, "
        f"median of {r['repeat']}, P from N = {r['kernel_rows']:,} rows)\n"
    )
    click.echo("| kernel | products (s) | with randomisers (s) | randomisation share |")
    click.echo("|---|---:|---:|---:|")
    rows = [
        ("today", r["products_today_s"], r["kernel_today_s"], r["randomisation_share_today"]),
        ("new", r["products_new_s"], r["kernel_new_s"], r["randomisation_share_new"]),
        ("new_fresh", r["products_new_fresh_s"], r["kernel_new_fresh_s"],
         r["randomisation_share_new_fresh"]),
    ]  # fmt: skip
    for name, prod, total, share in rows:
        click.echo(f"| {KERNEL_LABELS[name]} | {prod:.3f} | {total:.3f} | {share:.0%} |")
    click.echo(f"| naive: one powmod per product (once) | {r['products_naive_s']:.3f} | | |")
    click.echo(
        f"\nkernel_speedup = {r['kernel_speedup']:.2f} (today's ÷ new; products alone "
        f"{r['products_speedup']:.2f}, {r['products_speedup_fresh']:.2f} with the tables built "
        f"in the call; nothing precomputed {r['kernel_speedup_fresh']:.2f}; "
        f"naive products ÷ new {r['naive_speedup']:.1f}). Building the tables once: "
        f"{r['tables_s']:.3f} s."
    )
    click.echo(
        f"submission_s = {r['submission_s']:.3f} (update, apply_encrypted with precomputed "
        f"randomisers and tables, JSON); nothing precomputed {r['submission_fresh_s']:.3f} s."
    )
    cpu = r["cpu_s"]
    click.echo(
        f"CPU seconds, all processes: today's {cpu['today']:.3f}, new {cpu['new']:.3f} "
        f"(kernel_speedup_cpu {_fmt(r['kernel_speedup_cpu'])}; products "
        f"{_fmt(r['products_speedup_cpu'])}), submission {cpu['submission']:.3f}."
    )
    same = "identical" if r["identical_ciphertexts"] else "DIFFERENT"
    click.echo(
        f"Products of the three kernels: {same}; decrypted results agree with P·w + q to "
        f"{r['kernel_max_abs_diff']:.1e}."
    )
    click.echo(f"\n## Encrypted update per owner submission (d = {dim}, {r['key_bits']}-bit key, "
               f"{procs} processes)\n")  # fmt: skip
    click.echo("| N rows | affine (s) | naive reference (s) | speed-up | max abs diff |")
    click.echo("|---:|---:|---:|---:|---:|")
    for x in r["results"]:
        naive = f"{x['naive_s']:.2f}"
        if x["naive_scaled"]:
            naive += f" (scaled from {x['naive_rows_measured']} rows)"
        diff = "n/a" if x["max_abs_diff"] is None else f"{x['max_abs_diff']:.1e}"
        click.echo(f"| {x['rows']:,} | {x['affine_s']:.3f} | {naive} | "
                   f"{x['speedup']:.1f}x | {diff} |")  # fmt: skip
    floor, obf = r["floor_d2_powmod_s"], r["obfuscation_d_s"]
    click.echo(
        f"\nFloor, one core: d² = {dim * dim} products c^k mod n² (48-bit k) = {floor:.3f} s; "
        f"d = {dim} obfuscators r^n = {obf:.3f} s; together {floor + obf:.3f} s "
        f"(/{procs} processes = {(floor + obf) / procs:.3f} s)."
    )
    click.echo(
        f"Affine rule with phe's operators instead (one process, no shared exponent): "
        f"{r['phe_operators_affine_s']:.3f} s."
    )
