"""python3 -m harness COMMAND: one small cmd_* function per command, chosen from COMMANDS."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
from pathlib import Path

from harness import latency, lifecycle, manifest, report, results, runner, scenarios, verify
from harness.config import Context

EPILOG = ("Environment: HB_BUILD_DIR (absolute build directory, default <repo>/build), "
          "HB_PYTHON (interpreter for {python}, default /usr/bin/python3).")


class UsageError(Exception):
    pass


def _context(args) -> Context:
    return Context.from_env(args.servers_dir, args.results_dir, args.plots_dir)


def _print_table(header: list[str], rows: list[list[str]], out=sys.stdout) -> None:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths]] + rows:
        out.write("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() + "\n")


def _split_list(values: list[str] | None) -> list[str]:
    """--variants a,b --variants c  and  --variants a b  both mean [a, b, c]."""
    out = []
    for v in values or []:
        out += [x for x in v.replace(",", " ").split() if x]
    return out


def _discover(ctx: Context, names: list[str]):
    variants, broken = manifest.discover(ctx.servers_dir, ctx)
    if not variants and not broken:
        raise UsageError(f"no variants found: no {ctx.servers_dir}/*/{manifest.MANIFEST_NAME}")
    try:
        chosen = manifest.select(variants, broken, names)
    except LookupError as e:
        raise UsageError(str(e)) from None
    if names:
        broken = [b for b in broken if Path(b.path).parent.name in names]
    return chosen, broken


# ---------------------------------------------------------------- list


def cmd_list(args) -> int:
    ctx = _context(args)
    variants, broken = manifest.discover(ctx.servers_dir, ctx)
    rows = []
    for v in variants:
        missing = manifest.missing_requirements(v, ctx)
        status = "skipped: " + manifest.why_not(missing) if missing else "yes"
        rows.append([v.name, v.server, v.handler, v.reference_row or "–", status])
    print(f"variants in {ctx.servers_dir} (build dir {ctx.build_dir}):")
    if rows:
        _print_table(["NAME", "SERVER", "HANDLER", "REFERENCE ROW", "RUNS HERE"], rows)
    for v in variants:
        for w in v.warnings:
            print(f"warning: {w}")
    for e in broken:
        print(f"BROKEN {Path(e.path).parent.name}: {e}")
    if not variants and not broken:
        print(f"(none: add servers/<name>/{manifest.MANIFEST_NAME}, see servers/README.md)")
    return 1 if broken else 0


# ---------------------------------------------------------------- verify


def cmd_verify(args) -> int:
    ctx = _context(args)
    chosen, broken = _discover(ctx, _split_list(args.variants))
    rows, details, failed, passed, skipped = [], [], 0, 0, 0
    for e in broken:
        print(f"BROKEN {Path(e.path).parent.name}: {e}")
        failed += 1
    with tempfile.TemporaryDirectory(prefix="hb-verify-") as tmp:
        for v in chosen:
            missing = manifest.missing_requirements(v, ctx)
            if missing:
                rows.append([v.name] + ["–"] * len(verify.CHECK_NAMES) + ["SKIPPED"])
                details.append(f"{v.name}: skipped: {manifest.why_not(missing)}")
                skipped += 1
                continue
            print(f"verifying {v.name} ...", flush=True)
            try:
                with runner.checked(v, Path(tmp) / v.name, "server", args.threads) as (server,
                                                                                        checks):
                    pass  # the checks ran on the way in; the way out stops the server
            except runner.StartFailed as e:
                rows.append([v.name] + ["–"] * len(verify.CHECK_NAMES) + ["FAIL"])
                details.append(f"{v.name}: did not start: {e}")
                failed += 1
                continue
            info = server.stopped
            marks = {True: "ok", False: "FAIL", None: "n/a"}
            ok = verify.passed(checks) and info["port_free"]
            rows.append([v.name] + [marks[c.ok] for c in checks] + ["PASS" if ok else "FAIL"])
            details += [f"{v.name}: {c.name}: {c.detail}" for c in checks if c.ok is False]
            details += [f"{v.name}: {c.name}: passed; {c.detail}" for c in checks
                        if c.ok and c.detail]
            if not info["port_free"]:
                details.append(f"{v.name}: port {server.port} still in use after stop")
            if info["killed"]:
                details.append(f"{v.name}: {info['exit']}")
            passed += ok
            failed += not ok
    print()
    if rows:
        _print_table(["VARIANT"] + verify.CHECK_NAMES + ["RESULT"], rows)
    for d in details:
        print(d)
    print(f"\n{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed or not passed else 0


# ---------------------------------------------------------------- run / bench


def _positive_int(text: str) -> int:
    try:
        value = int(str(text).rstrip("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _seconds(text: str) -> float:
    """A positive duration in seconds: 0.5, 2, 1.5s."""
    try:
        value = float(str(text).rstrip("s"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0.05 <= value <= 600:
        raise argparse.ArgumentTypeError(f"must be between 0.05 and 600 s: {text!r}")
    return value


def _percent(text: str) -> float:
    try:
        value = float(str(text).rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a percentage: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


# httpbridge refuses bodies over 8 MiB by default (413), and so do most peers' defaults
ECHO_SIZE_MAX = 8 << 20


def _echo_size(text: str) -> int:
    """A body size in bytes: 1024, 16K, 16KiB, 1M or 1MiB."""
    t = text.strip()
    scale = 1
    for suffix, factor in (("kib", 1 << 10), ("k", 1 << 10), ("mib", 1 << 20), ("m", 1 << 20)):
        if t.lower().endswith(suffix):
            t, scale = t[:-len(suffix)], factor
            break
    try:
        size = int(t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (bytes, or with K/KiB/M/MiB)") from None
    if not 1 <= size <= ECHO_SIZE_MAX:
        raise argparse.ArgumentTypeError(f"{text!r}: must be 1 byte to 8 MiB (the servers' body limit)")
    return size


def _settings(args) -> scenarios.Settings:
    preset = scenarios.QUICK if args.quick else scenarios.DEFAULTS
    chosen = _split_list(args.scenarios) or list(scenarios.SCENARIOS)
    unknown = [s for s in chosen if s not in scenarios.SCENARIOS]
    if unknown:
        raise UsageError(f"unknown scenario(s) {', '.join(unknown)}; "
                         f"known: {', '.join(scenarios.SCENARIOS)}")
    concurrency = preset["concurrency"]
    if args.concurrency:
        try:
            concurrency = [_positive_int(c) for c in _split_list(args.concurrency)]
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"--concurrency: {e}") from None
    echo_sizes = preset["echo_sizes"]
    if args.echo_sizes:
        try:
            echo_sizes = sorted({_echo_size(x) for x in _split_list(args.echo_sizes)})
        except argparse.ArgumentTypeError as e:
            raise UsageError(f"--echo-sizes: {e}") from None
    rates = preset["latency_rates"]
    if args.latency_rates:
        try:
            rates = sorted({latency.parse_rate(x) for x in _split_list(args.latency_rates)})
        except ValueError as e:
            raise UsageError(f"--latency-rates: {e}") from None
    server_cpus, client_cpus, pinning = scenarios.default_pinning(
        args.server_cpus, args.client_cpus, args.no_pin)
    usable = os.sched_getaffinity(0)
    for flag, cpus in (("--server-cpus", server_cpus), ("--client-cpus", client_cpus)):
        if cpus:
            try:
                listed = {int(x) for part in cpus.split(",") for x in
                          (range(int(part.split("-")[0]), int(part.split("-")[-1]) + 1))}
            except ValueError:
                raise UsageError(f"{flag} {cpus!r}: expected a CPU list like 0 or 0-1 or 0,2")
            if not listed <= usable:
                raise UsageError(f"{flag} {cpus}: CPU(s) {sorted(listed - usable)} not usable "
                                 f"here (usable: {sorted(usable)})")
    return scenarios.Settings(
        scenarios=[s for s in scenarios.SCENARIOS if s in chosen],
        duration=args.duration or preset["duration"],
        repeats=args.repeats or preset["repeats"],
        concurrency=concurrency,
        echo_sizes=echo_sizes,
        ab_requests=args.ab_requests or preset["ab_requests"],
        threads=args.threads,
        server_cpus=server_cpus,
        client_cpus=client_cpus,
        pinning=pinning,
        quick=args.quick,
        latency_rates=rates,
        latency_duration=args.latency_duration or preset["latency_duration"],
        latency_warmup=args.latency_warmup or preset["latency_warmup"],
        latency_connections=args.latency_connections or 10,
        latency_repeats=args.latency_repeats or preset["latency_repeats"],
    )


def _measure(args) -> tuple[int, dict | None]:
    """The shared part of run and bench: measure, store, write table.md."""
    ctx = _context(args)
    settings = _settings(args)
    chosen, broken = _discover(ctx, _split_list(args.variants))
    argv = ["python3", "-m", "harness"] + args.argv
    try:
        store = runner.run_benchmark(ctx, settings, chosen, broken, argv)
    except KeyboardInterrupt:
        print("\ninterrupted: what finished is stored", file=sys.stderr)
        return 130, None
    run = results.load_run(store.dir)
    report.write_table(run)
    return 0, run


def _outcome(run: dict) -> int:
    statuses = [v["status"] for v in run["variants"].values()]
    measured = any(run["measurements"])
    if "failed" in statuses or not measured:
        return 1
    return 0


def _print_report(run: dict) -> None:
    print()
    print(report.render(run, settings=False))


def cmd_run(args) -> int:
    code, run = _measure(args)
    if run is None:
        return code
    _print_report(run)
    print(f"results: {Path(run['_dir']) / results.RESULTS_FILE}")
    print(f"table:   {Path(run['_dir']) / results.TABLE_FILE}")
    return _outcome(run)


def cmd_bench(args) -> int:
    from harness import page, plot

    code, run = _measure(args)
    if run is None:
        return code
    out_dir, paths = plot.plot_run(run, _context(args).plots_dir)
    page_path = page.write_run_page(run, out_dir, [p for p in paths if p.suffix == ".svg"])
    _print_report(run)
    print(f"results: {Path(run['_dir']) / results.RESULTS_FILE}")
    print(f"table:   {Path(run['_dir']) / results.TABLE_FILE}")
    print(f"plots:   {out_dir}/ ({len(paths)} files: "
          f"{', '.join(sorted({p.stem for p in paths})) or 'no data to plot'})")
    print(f"page:    {page_path}  <- open this: every table and plot of the run")
    return _outcome(run)


# ---------------------------------------------------------------- stored runs


def _load(args, attr="run") -> dict:
    ctx = _context(args)
    return results.load_run(results.resolve_run(getattr(args, attr), ctx.results_dir))


def cmd_report(args) -> int:
    run = _load(args)
    path = report.write_table(run)
    print(report.render(run))
    print(f"table: {path}")
    return 0


def cmd_plot(args) -> int:
    from harness import page, plot

    run = _load(args)
    out_dir, paths = plot.plot_run(run, _context(args).plots_dir)
    page_path = page.write_run_page(run, out_dir, [p for p in paths if p.suffix == ".svg"])
    if not paths:
        print(f"run {run['stamp']} has no valid measurement to plot", file=sys.stderr)
        return 1
    for p in paths + [page_path]:
        print(p)
    return 0


def cmd_compare(args) -> int:
    from harness import compare, page

    comparison = compare.compare(_load(args, "run_a"), _load(args, "run_b"))
    for line in compare.render_text(comparison):
        print(line)
    if args.html:
        try:
            path = page.write_comparison_page(comparison, args.html, args.fail_above)
        except OSError as e:
            raise UsageError(f"--html {args.html}: cannot write it ({e.strerror})") from None
        print(f"page: {path}")
    if args.fail_above is None:
        return 0
    if comparison.machine:
        print(f"--fail-above {args.fail_above:g}: the runs were made on different machines, so "
              "no change can be blamed on the software; not gating (exit 2)", file=sys.stderr)
        return 2
    worse = comparison.regressions(args.fail_above)
    for row, change in worse:
        print(f"REGRESSION {row.label} {change.metric}: {change.worse_pct:.1f}% worse "
              f"(above {args.fail_above:g}%, significant)")
    if not worse:
        print(f"no significant regression above {args.fail_above:g}%")
    return 1 if worse else 0


def cmd_micro(args) -> int:
    from harness import micro

    ctx = _context(args)
    programs = micro.find_programs(ctx.build_dir)
    if not programs:
        print(f"no microbenchmarks: no executable bench_* under {ctx.build_dir}/bridges/bench/ "
              "(they come with bridges/bench; build them with `make build`)", file=sys.stderr)
        return 1
    cpus = None if args.no_pin else args.cpus
    if cpus is None and not args.no_pin and len(os.sched_getaffinity(0)) >= 2:
        cpus = str(sorted(os.sched_getaffinity(0))[0])
    run_dir, failures = micro.run_micro(ctx.build_dir, ctx.results_dir, ctx.python, cpus,
                                        args.benchmark_args, sys.stdout)
    print(f"\nresults: {run_dir}/")
    return 1 if failures else 0


# ---------------------------------------------------------------- the command table


def _add_dirs(p) -> None:
    p.add_argument("--servers-dir", metavar="DIR", help="where the variant directories are "
                   "(default: the repository's servers/)")
    p.add_argument("--results-dir", metavar="DIR", help="where runs are stored "
                   "(default: the repository's results/)")
    p.add_argument("--plots-dir", metavar="DIR", help="where plots go (default: the "
                   "repository's plots/)")


def _add_run_options(p) -> None:
    p.add_argument("--variants", action="append", metavar="NAMES",
                   help="only these variants (comma or space separated; default: all)")
    p.add_argument("--scenarios", action="append", metavar="NAMES",
                   help=f"only these scenarios, from {', '.join(scenarios.SCENARIOS)} "
                        "(default: all)")
    p.add_argument("--duration", type=_positive_int, metavar="SECONDS",
                   help="seconds per wrk run (default 2; --quick 1)")
    p.add_argument("--repeats", type=_positive_int, metavar="N",
                   help="interleaved rounds over all variants (default 2; --quick 1)")
    p.add_argument("--concurrency", action="append", metavar="LIST",
                   help="keep-alive connection counts (default 10,256; --quick 10)")
    p.add_argument("--echo-sizes", action="append", metavar="LIST",
                   help="POST /echo body sizes: bytes, or 16K, 1MiB... (default 1K,256K)")
    p.add_argument("--ab-requests", type=_positive_int, metavar="N",
                   help="ab -n for the lol scenario (default 10000 as in the reference; "
                        "--quick 2000)")
    p.add_argument("--latency-rates", action="append", metavar="LIST",
                   help="the latency ladder's offered rates, req/s, shared by every variant "
                        "(default 500,1k,2k,5k,10k,20k,50k,100k,200k; --quick 1k,5k)")
    p.add_argument("--latency-duration", type=_seconds, metavar="SECONDS",
                   help="measured seconds per latency step (default 1; --quick 0.5)")
    p.add_argument("--latency-warmup", type=_seconds, metavar="SECONDS",
                   help="warmup before each latency step, not counted (default 0.5; "
                        "--quick 0.2)")
    p.add_argument("--latency-connections", type=_positive_int, metavar="N",
                   help="hb-loadgen keep-alive connections (default 10)")
    p.add_argument("--latency-repeats", type=_positive_int, metavar="N",
                   help="climb the latency ladder in the first N rounds (default 1)")
    p.add_argument("--quick", action="store_true",
                   help="a much smaller run for tests and trying things: 1 s, 1 round, c=10, "
                        "ab -n 2000, latency at 1k and 5k req/s")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="value of {threads} for the servers (default 1: one pinned CPU)")
    p.add_argument("--server-cpus", metavar="CPUS",
                   help="taskset CPU list for the server (default 0 on 2+ CPUs)")
    p.add_argument("--client-cpus", metavar="CPUS",
                   help="taskset CPU list for wrk/ab (default 1 on 2+ CPUs)")
    p.add_argument("--no-pin", action="store_true", help="do not pin anything to CPUs")


def _add_verify(p) -> None:
    p.add_argument("variants", nargs="*", metavar="VARIANT",
                   help="variants to verify (default: all)")
    p.add_argument("--threads", type=_positive_int, default=1, metavar="N",
                   help="value of {threads} (default 1)")


def _add_run_arg(p) -> None:
    p.add_argument("run", nargs="?", metavar="RUN",
                   help="a stamp under the results dir, a path, or nothing for the newest run")


def _add_compare(p) -> None:
    p.add_argument("run_a", metavar="RUN_A", help="the baseline [a]: stamp or path")
    p.add_argument("run_b", metavar="RUN_B", help="the run compared with it [b]: stamp or path")
    p.add_argument("--html", metavar="OUT", help="also write the comparison as an HTML page")
    p.add_argument("--fail-above", type=_percent, metavar="PCT",
                   help="exit 1 when a significant change for the worse (req/s lower or server "
                        "µs/req higher) exceeds PCT percent; exit 2 if the machines differ")


def _add_micro(p) -> None:
    p.add_argument("--cpus", metavar="CPUS", help="taskset CPU list (default: CPU 0 on 2+ CPUs)")
    p.add_argument("--no-pin", action="store_true", help="do not pin to a CPU")
    p.add_argument("benchmark_args", nargs="*", metavar="ARG",
                   help="passed to every program after --, e.g. -- --benchmark_filter=Handle")


# name: (function, one-line help, argument adder)
COMMANDS = {
    "list": (cmd_list, "every variant: kind, language, reference row, whether it runs here",
             None),
    "verify": (cmd_verify, "start each variant, check what it answers, stop it; pass/fail table",
               _add_verify),
    "run": (cmd_run, "measure: build, start, verify, load, stop per variant in interleaved "
                     "rounds; store results/<stamp>/ with table.md", _add_run_options),
    "bench": (cmd_bench, "run, then report and plot: what `make bench` does", _add_run_options),
    "report": (cmd_report, "write and print table.md of a stored run", _add_run_arg),
    "plot": (cmd_plot, "draw the plots and the report.html page of a stored run into "
                      "plots/<stamp>/", _add_run_arg),
    "compare": (cmd_compare, "compare two stored runs: what differs, then [a] X req/s -> [b] Y "
                            "req/s and server µs/req per case, significant or not", _add_compare),
    "micro": (cmd_micro, "run the Google Benchmark programs (build/bridges/bench/bench_*)",
              _add_micro),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m harness",
        description="Benchmark harness: discover the server variants (servers/*/variant.toml), "
                    "verify, load, measure, store, report and plot.",
        epilog=EPILOG)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (func, help_text, add_args) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text, epilog=EPILOG)
        if add_args:
            add_args(p)
        _add_dirs(p)
        p.set_defaults(func=func)
    return parser


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    # SIGTERM (e.g. a CI timeout) stops like Ctrl-C: servers stopped, results kept.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return args.func(args)
    except (UsageError, results.ResultsError) as e:
        print(f"harness {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    finally:
        lifecycle.stop_all()  # whatever stopped the command, no server outlives it
