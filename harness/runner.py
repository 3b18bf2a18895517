"""One benchmark run: build, then interleaved rounds of start, verify, load, stop per variant.

Round 1 runs every variant once, round 2 again, and so on, so that a slow minute of a
shared machine spreads over all variants instead of hitting one. Everything is written to
results.json as soon as it is known; a variant that fails is recorded with its reason and
the others go on.
"""

from __future__ import annotations

import re
import sys
import time

from harness import lifecycle, load, procstat, results, verify
from harness.config import Context
from harness.manifest import ManifestError, Variant, missing_requirements
from harness.scenarios import Case, Settings, cases_for
from harness.stats import fmt_count, fmt_num

HOST = lifecycle.HOST


class Progress:
    """'[step n/m] what runs now ... result' lines; m shrinks when a variant drops out."""

    def __init__(self, total: int, out=sys.stdout):
        self.n, self.total, self.out = 0, total, out

    def step(self, text: str) -> None:
        self.n += 1
        self.out.write(f"[step {self.n}/{self.total}] {text} ... ")
        self.out.flush()

    def done(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def drop(self, steps: int) -> None:
        self.total -= steps

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def variant_record(v: Variant) -> dict:
    return {**v.describe(), "status": "pending", "reason": None, "failed_in": None,
            "warnings": v.warnings, "skipped_cases": {}, "verify": [], "events": []}


def measurement_line(m: dict) -> str:
    if not m["valid"]:
        return "INVALID: " + "; ".join(m["problems"])
    server, client = m["server"], m["client"]
    text = f"{fmt_count(m['rps'])} req/s"
    if server["us_per_request"] is not None:
        text += f", server {fmt_num(server['us_per_request'])} µs/req"
    text += (f", server CPU {server['utilisation'] * 100:.0f}%, "
             f"client CPU {client['utilisation'] * 100:.0f}%")
    if client["bound"]:
        text += " (client-bound)"
    return text


class Runner:
    def __init__(self, ctx: Context, settings: Settings, store: results.RunStore, out=sys.stdout):
        self.ctx, self.s, self.store = ctx, settings, store
        self.out = out
        self.server: lifecycle.Server | None = None
        self.remaining: dict[str, int] = {}
        self.progress: Progress | None = None

    # ------------------------------------------------------------ top level

    def run(self, variants: list[Variant], broken: list[ManifestError]) -> None:
        s, store = self.s, self.store
        store.data["broken_manifests"] = [
            {"file": e.path, "field": e.field, "message": e.message} for e in broken]
        store.save()
        say = self._say
        for e in broken:
            say(f"broken manifest, variant left out: {e}")

        runnable = []
        for v in variants:
            store.add_variant(v.name, variant_record(v))
            for w in v.warnings:
                say(f"warning: {w}")
            missing = missing_requirements(v, self.ctx)
            if missing:
                store.update_variant(v.name, status="skipped", reason="; ".join(missing))
                say(f"skipped {v.name}: {'; '.join(missing)}")
            else:
                runnable.append(v)

        plans = {}
        for v in runnable:
            plans[v.name] = []
            for case, skip in cases_for(s, v):
                if skip:
                    store.data["variants"][v.name]["skipped_cases"][case.label] = skip
                else:
                    plans[v.name].append(case)
            self.remaining[v.name] = s.repeats * (1 + len(plans[v.name]))
        store.save()
        builds = [v for v in runnable if v.build_command]
        self.progress = Progress(len(builds) + sum(self.remaining.values()), self.out)
        say(f"run {store.dir.name}: {len(runnable)} variant(s) to measure "
            f"({', '.join(v.name for v in runnable) or 'none'}), {s.repeats} round(s), "
            f"scenarios {', '.join(s.scenarios)}; about {self._estimate(runnable, plans)}; "
            f"pinning: {s.pinning}")

        load1 = store.data["machine"].get("loadavg_at_start", [0])[0]
        cpus = store.data["machine"].get("cpu_count") or 1
        if load1 > 0.5 * cpus:
            say(f"warning: load average {load1:.2f} on {cpus} CPUs: other work competes with "
                "the measurement; expect low and noisy numbers")
        status = "error"
        try:
            active = [v for v in runnable if self._build(v)]
            for r in range(1, s.repeats + 1):
                for v in list(active):
                    if not self._round(v, r, plans[v.name]):
                        active.remove(v)
            status = "complete"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            if self.server is not None:
                lifecycle.stop(self.server)
                self.server = None
            for name, record in store.data["variants"].items():
                if record["status"] == "pending":
                    record["status"] = "ok" if status == "complete" else status
            store.finish(status)

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _estimate(self, runnable, plans) -> str:
        seconds = 0.0
        for v in runnable:
            per_round = 1.5
            for case in plans[v.name]:
                per_round += 2.0 if case.tool == "ab" else self.s.duration + 0.3
            seconds += per_round * self.s.repeats
        return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"

    # ------------------------------------------------------------ per variant

    def _fail(self, v: Variant, phase: str, reason: str) -> None:
        self.store.update_variant(v.name, status="failed", failed_in=phase, reason=reason)
        dropped = self.remaining.get(v.name, 0)
        self.progress.drop(dropped)
        self.remaining[v.name] = 0
        first = reason.splitlines()[0] if reason else ""
        self.progress.say(f"    {v.name} FAILED in {phase}: {first}"
                          + (f" ({dropped} step(s) dropped)" if dropped else ""))

    def _build(self, v: Variant) -> bool:
        if not v.build_command:
            return True
        self.progress.step(f"{v.name} build: {' '.join(v.build_command)}")
        log = self.store.raw_path(v.name, "build.txt")
        t0 = time.monotonic()
        try:
            lifecycle.build(v, log)
        except lifecycle.LifecycleError as e:
            self.progress.done("failed")
            self._fail(v, "build", str(e))
            return False
        missing = missing_requirements(v, self.ctx, built=True)
        if missing:
            self.progress.done("failed")
            self._fail(v, "build", "; ".join(missing))
            return False
        self.progress.done(f"ok ({time.monotonic() - t0:.1f} s)")
        self.store.event(v.name, "build", log=self.store.relative(log),
                         seconds=round(time.monotonic() - t0, 2))
        return True

    def _round(self, v: Variant, r: int, plan: list[Case]) -> bool:
        s, store = self.s, self.store
        self.progress.step(f"{v.name} start + verify, round {r}/{s.repeats}")
        self.remaining[v.name] -= 1
        log_dir = store.dir / results.RAW_DIR / v.name
        try:
            self.server = lifecycle.start(v, log_dir, f"r{r}-server", s.threads, s.server_cpus)
        except lifecycle.LifecycleError as e:
            self.progress.done("failed")
            self._fail(v, f"start (round {r})", str(e))
            return False
        server = self.server
        store.data["variants"][v.name]["command"] = server.command
        ok = False
        try:
            ok = self._verify_and_load(v, r, plan, server)
        finally:
            info = lifecycle.stop(server)
            self.server = None
            store.event(v.name, "stop", round=r, **info)
        if ok and not info["port_free"]:
            self._fail(v, f"stop (round {r})", f"port {server.port} still in use after the "
                       "process group stopped: something outside the group holds it")
            return False
        return ok

    def _verify_and_load(self, v: Variant, r: int, plan: list[Case], server) -> bool:
        store = self.store
        checks = verify.verify(server.host, server.port, v)
        store.data["variants"][v.name]["verify"].append(
            {"round": r, "checks": [c.as_dict() for c in checks]})
        store.save()
        if not verify.passed(checks):
            self.progress.done("verify failed")
            self._fail(v, f"verify (round {r})", verify.failure_summary(checks))
            return False
        applicable = [c for c in checks if c.ok is not None]
        self.progress.done(f"port {server.port}, {len(applicable)}/{len(applicable)} checks passed")
        for case in plan:
            self.progress.step(f"{v.name} {case.scenario} {case.case} repeat {r}/{self.s.repeats}")
            self.remaining[v.name] -= 1
            m = self.measure(v, case, r, server)
            store.add_measurement(m)
            self.progress.done(measurement_line(m))
            if not server.alive():
                self._fail(v, f"{case.label} (round {r})",
                           f"server {server.exit_description()} during {case.label}; "
                           f"stderr tail:\n{server.stderr_tail()}")
                return False
        return True

    # ------------------------------------------------------------ one measurement

    def measure(self, v: Variant, case: Case, r: int, server: lifecycle.Server) -> dict:
        command = case.command(server.url, self.s)
        cpu_before = procstat.group_cpu_seconds(server.pgid)
        client = load.run_client(command, case.timeout(self.s))
        cpu_after = procstat.group_cpu_seconds(server.pgid)
        peak_rss = procstat.group_peak_rss_kib(server.pgid)
        raw = self.store.raw_path(v.name, f"r{r}-{case.scenario}-{slug(case.case)}.txt")
        raw.write_text(client.raw_text())
        died = None if server.alive() else f"server {server.exit_description()} during the run"
        return make_record(v.name, case, r, client, max(cpu_after - cpu_before, 0.0), peak_rss,
                           self.store.relative(raw), died, self.s.client_bound_at)


def make_record(variant: str, case: Case, r: int, client: load.ClientRun, server_cpu_s: float,
                peak_rss_kib: int, raw: str, server_died: str | None,
                client_bound_at: float) -> dict:
    """One measurement as stored in results.json, judged valid or not (with the reasons)."""
    record = {"variant": variant, "scenario": case.scenario, "case": case.case,
              "tool": case.tool, "params": case.params, "round": r, "command": client.command,
              "raw": raw, "exit_code": client.returncode, "wall_s": round(client.wall_s, 4),
              "rps": None, "requests": 0}
    problems: list[str] = []
    try:
        if case.tool == "wrk":
            parsed = load.parse_wrk(client.stdout)
        else:
            parsed = load.parse_ab(client.stdout, client.stderr)
    except load.ParseError as e:
        parsed = None
        problems.append(f"{e}; stderr: {client.stderr.strip()[-300:]}")
    if parsed and case.tool == "wrk":
        problems += load.wrk_problems(parsed)
        if client.returncode != 0:
            problems.append(f"wrk exited with code {client.returncode}")
        record.update(rps=parsed["rps"], requests=parsed["requests"],
                      duration_s=parsed["duration_s"], errors=parsed["errors"],
                      non_2xx=parsed["non_2xx"], latency_ms=parsed["latency_ms"])
    elif parsed:
        problems += load.ab_problems(parsed, case.params["requests"], client.returncode)
        record.update(rps=parsed["rps"], requests=parsed["complete"] or parsed["completed"] or 0,
                      duration_s=parsed["total_s"], non_2xx=parsed["non_2xx"],
                      latency_ms=parsed["latency_ms"],
                      ab={k: parsed[k] for k in (
                          "total_s", "rps", "time_per_request_ms", "time_per_request_all_ms",
                          "complete", "failed", "failed_by_kind", "non_2xx", "error")})
    if server_died:
        problems.append(server_died)

    requests = record["requests"]
    wall = client.wall_s or 1e-9
    client_util = client.cpu_s / wall
    record["server"] = {
        "cpu_s": round(server_cpu_s, 4),
        "us_per_request": server_cpu_s * 1e6 / requests if requests else None,
        "utilisation": server_cpu_s / wall,
        "peak_rss_kib": peak_rss_kib or None,
    }
    record["client"] = {"cpu_s": round(client.cpu_s, 4), "utilisation": client_util,
                        "bound": client_util >= client_bound_at}
    record["valid"] = not problems
    record["problems"] = problems
    return record


def run_benchmark(ctx: Context, settings: Settings, variants, broken, argv, out=sys.stdout):
    """Measure the variants into a new results/<stamp>/; return the store (its dir holds all)."""
    store = results.RunStore(
        ctx.results_dir, argv, settings.as_dict(), results.machine_info(),
        results.tool_versions(ctx.python, ctx.build_dir, variants), results.git_info(ctx.root))
    store.data["settings"]["build_dir"] = str(ctx.build_dir)
    store.data["settings"]["python"] = ctx.python
    store.data["settings"]["servers_dir"] = str(ctx.servers_dir)
    store.save()
    Runner(ctx, settings, store, out).run(variants, broken)
    return store
