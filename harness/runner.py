"""One benchmark run: interleaved rounds of start, verify, load, stop per variant.

Round 1 runs every variant once, round 2 again, and so on, so that a slow minute of a
shared machine spreads over all variants instead of hitting one. Everything is written to
results.json (through the store's methods) as soon as it is known; a variant that fails is
recorded with its reason and the others go on. `checked()` is the start, verify, stop
sequence that `harness verify` uses too.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from harness import (app_alone, app_split, floor, latency, lifecycle, load, procstat, results,
                     verify)
from harness.config import Context
from harness.manifest import ManifestError, Variant, missing_requirements, why_not
from harness.scenarios import Case, Settings, cases_for
from harness.stats import fmt_count, fmt_num


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
            "version": results.command_version(v.version_command),
            "warnings": v.warnings, "skipped_cases": {}, "verify": [], "events": [],
            "app_cost_key": None}


class StartFailed(Exception):
    """checked() could not start the variant; the message says why."""


@contextlib.contextmanager
def checked(v: Variant, log_dir: Path, tag: str, threads: int = 1,
            cpus: str | None = None) -> Iterator[tuple[lifecycle.Server, list[verify.Check]]]:
    """Start the variant, run the checks, hand both over, and stop it whatever happens.

    The server's stop report is in server.stopped afterwards.
    """
    try:
        server = lifecycle.start(v, log_dir, tag, threads, cpus)
    except lifecycle.LifecycleError as e:
        raise StartFailed(str(e)) from None
    try:
        yield server, verify.verify(server.host, server.port, v)
    finally:
        lifecycle.stop(server)


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
    if m["tool"] == "loadgen":
        text += latency.line(m)
    alone = m.get("app_alone") or {}
    if "after_us" in alone:
        text += (f"; app alone {fmt_num(alone['before_us'])} µs/req before, "
                 f"{fmt_num(alone['after_us'])} after")
    elif "error" in alone:
        text += f"; app alone FAILED: {alone['error']}"
    return text


# how the app alone is timed next to a server measurement: short, as it runs twice per case
BRACKET = {"runs": 3, "warmups": 1, "min_time": 0.05}


def _first_per_scenario(cases) -> list[Case]:
    """The first case of each scenario that has an app-alone case (app_split.split_columns)."""
    seen: dict[str, Case] = {}
    for case, _ in cases:
        if case.scenario in app_split.APPCOST_CASE:
            seen.setdefault(case.scenario, case)
    return list(seen.values())


class Runner:
    def __init__(self, ctx: Context, settings: Settings, store: results.RunStore, out=sys.stdout):
        self.ctx, self.s, self.store = ctx, settings, store
        self.out = out
        self.remaining: dict[str, int] = {}
        self.apps: dict[str, dict] = {}  # the WSGI apps to time alone (app_split.targets)
        # the (scenario, case) an app-alone pair brackets: the split table's columns
        self.bracketed = {(c.scenario, c.case) for c in _first_per_scenario(cases_for(settings))}
        self.progress = Progress(0, out)

    # ------------------------------------------------------------ top level

    def run(self, variants: list[Variant], broken: list[ManifestError]) -> None:
        s, store, say = self.s, self.store, self.progress.say
        store.set_broken_manifests(
            [{"file": e.path, "field": e.field, "message": e.message} for e in broken])
        for e in broken:
            say(f"broken manifest, variant left out: {e}")

        runnable = []
        for v in variants:
            store.add_variant(v.name, variant_record(v))
            for w in v.warnings:
                say(f"warning: {w}")
            missing = missing_requirements(v, self.ctx)
            if missing:
                store.update_variant(v.name, status="skipped", reason=why_not(missing))
                say(f"skipped {v.name}: {why_not(missing)}")
            else:
                runnable.append(v)

        plans = {}
        for v in runnable:
            plans[v.name] = []
            for case, skip in cases_for(s, v):
                if case.tool == "loadgen":
                    skip = skip or latency.loadgen_run.missing(self.ctx.build_dir)
                if skip:
                    store.skip_case(v.name, case.label, skip)
                else:
                    plans[v.name].append(case)
            self.remaining[v.name] = sum(1 + len(latency.for_round(plans[v.name], r, s))
                                         for r in range(1, s.repeats + 1))
        self.apps, app_warnings = app_split.targets(runnable)
        if not set(app_split.APPCOST_CASE) & set(s.scenarios):
            self.apps = {}  # nothing in this run to set the app's own cost against
        for w in app_warnings if self.apps else []:
            say(f"warning: {w}")
        for key, entry in self.apps.items():
            for name in entry["variants"]:
                store.update_variant(name, app_cost_key=key)
        self.alone = app_alone.Children(self.apps, self.ctx.python, s.server_cpus)
        wants_floor = self.apps and set(floor.SCENARIOS) & set(s.scenarios)
        self.floor_variant, why = floor.find_variant(self.ctx) if wants_floor else (None, None)
        self.floor_cases = [] if self.floor_variant is None else [
            c for c in _first_per_scenario(cases_for(s, self.floor_variant))
            if c.scenario in floor.SCENARIOS]
        if why:
            say(f"warning: no native floor for the apps ({why}); the floor table stays empty")
        self.progress.total = (sum(self.remaining.values())
                               + s.repeats * len(self.apps) * (1 + self._floor_steps()))
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
            active = list(runnable)
            for r in range(1, s.repeats + 1):
                self._app_costs(r, {v.name for v in active})
                self._floors(r, {v.name for v in active})
                for v in list(active):
                    if not self._round(v, r, plans[v.name]):
                        active.remove(v)
            status = "complete"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            self.alone.close()
            lifecycle.stop_all()
            store.finish(status)

    def _app_costs(self, r: int, active: set[str]) -> None:
        """Time each WSGI app alone, in-process, on the servers' CPU, every case (app_alone)."""
        for key, entry in self.apps.items():
            self.progress.step(f"app alone: {key}, in-process, round {r}/{self.s.repeats}")
            if not active & set(entry["variants"]):
                self.progress.done("skipped: every variant serving it dropped out")
                continue
            options = BRACKET if self.s.quick else {}
            about = {"spec": entry["spec"], "paths": entry["paths"],
                     "variants": entry["variants"], "cpus": self.s.server_cpus}
            try:
                got = self.alone.measure(key, **options)
            except app_alone.AppCostError as e:
                self.store.add_app_cost(key, about, r, None, str(e))
                self.progress.done(f"FAILED: {e}")
                continue
            self.store.add_app_cost(key, about, r, got, None)
            self.progress.done(", ".join(f"{case} {fmt_num(c['us_per_request'])} µs/req"
                                         for case, c in got["cases"].items()))

    def _floors(self, r: int, active: set[str]) -> None:
        """Serve c-callback spending each app's cost of this round per request (floor.py)."""
        steps = self._floor_steps()
        if not steps:
            return
        for key, entry in self.apps.items():
            work = floor.round_work(self.store.data, key, r)
            why = ("every variant serving it dropped out" if not active & set(entry["variants"])
                   else "the app alone was not timed this round" if work is None else None)
            if why:
                self.progress.drop(steps)
                self.store.add_floor(key, floor.VARIANT, r, work, [], why)
                continue
            v = floor.working(self.floor_variant, key, work)
            self.progress.step(f"native floor for {key}: {floor.VARIANT} --work-us "
                               f"{work:.3f}, start + verify, round {r}/{self.s.repeats}")
            records, error = [], None
            log_dir = self.store.dir / results.RAW_DIR / v.name
            try:
                with checked(v, log_dir, f"r{r}-server", self.s.threads,
                             self.s.server_cpus) as (server, checks):
                    if not verify.passed(checks):
                        error = "verify failed: " + verify.failure_summary(checks)
                        self.progress.done(error)
                        self.progress.drop(steps - 1)
                    else:
                        self.progress.done(f"port {server.port}")
                        error = self._floor_cases(v, key, r, server, records)
            except StartFailed as e:
                error = f"start: {e}"
                self.progress.done("failed")
                self.progress.drop(steps - 1)
            except KeyboardInterrupt:
                error = "interrupted"
                raise
            finally:  # what was measured is kept, also when the run is interrupted
                self.store.add_floor(key, floor.VARIANT, r, work, records, error)

    def _floor_steps(self) -> int:
        """Steps per app per round for its floor: start + verify, then each case; 0 if none."""
        return 1 + len(self.floor_cases) if self.floor_cases else 0

    def _floor_cases(self, v: Variant, key: str, r: int, server, records: list) -> str | None:
        """Load the floor's server in each floor case, into records; why it stopped, if it did."""
        for i, case in enumerate(self.floor_cases):
            self.progress.step(f"native floor for {key} {case.scenario} {case.case} "
                               f"repeat {r}/{self.s.repeats}")
            m = self.measure(v, case, r, server)
            records.append(m)
            self.progress.done(measurement_line(m))
            if not server.alive():
                self.progress.drop(len(self.floor_cases) - i - 1)
                return (f"server {server.exit_description()} during {case.label}; stderr "
                        f"tail: {server.stderr_tail()}")
        return None

    def _time_alone(self, key: str, scenario: str, before: dict | None = None) -> dict:
        """The app alone in the case set against scenario, timed now; with before, the pair."""
        case = app_split.APPCOST_CASE[scenario]
        if before and "error" in before:
            return before
        try:
            us = self.alone.measure(key, [case], **BRACKET)["cases"][case]["us_per_request"]
        except app_alone.AppCostError as e:
            return {"key": key, "case": case, "error": str(e)}
        if before is None:
            return {"key": key, "case": case, "before_us": us}
        return {**before, "after_us": us, "us_per_request": (before["before_us"] + us) / 2,
                "settings": BRACKET}

    def _estimate(self, runnable, plans) -> str:
        seconds = 5.0 * len(self.apps) * self.s.repeats
        if self.floor_cases:
            seconds += ((1.5 + len(self.floor_cases) * (self.s.duration + 0.3))
                        * len(self.apps) * self.s.repeats)
        for v in runnable:
            per_round = 1.5
            if self._app_key(v.name):
                per_round += 1.0 * sum((c.scenario, c.case) in self.bracketed
                                       for c in plans[v.name])
            for case in plans[v.name]:
                if case.tool == "loadgen":  # an upper bound: a ladder often stops early
                    seconds += latency.step_seconds(case.params) * min(self.s.latency_repeats,
                                                                       self.s.repeats)
                    continue
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

    def _round(self, v: Variant, r: int, plan: list[Case]) -> bool:
        s, store = self.s, self.store
        plan = latency.for_round(plan, r, s)
        self.progress.step(f"{v.name} start + verify, round {r}/{s.repeats}")
        self.remaining[v.name] -= 1
        log_dir = store.dir / results.RAW_DIR / v.name
        try:
            with checked(v, log_dir, f"r{r}-server", s.threads, s.server_cpus) as (server,
                                                                                  checks):
                store.update_variant(v.name, command=server.command)
                ok = self._verify_and_load(v, r, plan, server, checks)
        except StartFailed as e:
            self.progress.done("failed")
            self._fail(v, f"start (round {r})", str(e))
            return False
        info = server.stopped
        store.event(v.name, "stop", round=r, **info)
        if ok and not info["port_free"]:
            self._fail(v, f"stop (round {r})", f"port {server.port} still in use after the "
                       "process group stopped: something outside the group holds it")
            return False
        return ok

    def _verify_and_load(self, v: Variant, r: int, plan: list[Case], server,
                         checks: list[verify.Check]) -> bool:
        self.store.add_verify(v.name, r, [c.as_dict() for c in checks])
        if not verify.passed(checks):
            self.progress.done("verify failed")
            self._fail(v, f"verify (round {r})", verify.failure_summary(checks))
            return False
        applicable = [c for c in checks if c.ok is not None]
        self.progress.done(f"port {server.port}, {len(applicable)}/{len(applicable)} checks passed")
        ladder = latency.Ladder(v.name, r)
        for i, case in enumerate(plan):
            if ladder.skips(case, self.store.data["measurements"]):
                continue  # the ladder stopped; its steps were dropped from the count
            self.progress.step(f"{v.name} {case.scenario} {case.case} repeat {r}/{self.s.repeats}")
            self.remaining[v.name] -= 1
            try:
                lifecycle.check_owner(server)  # the port is still the server's alone
            except lifecycle.PortTaken as e:
                self.progress.done("failed")
                self._fail(v, f"{case.label} (round {r})", str(e))
                return False
            key = self._app_key(v.name) if (case.scenario, case.case) in self.bracketed else None
            # the app alone right before and right after: a pair the machine's drift moves alike
            before = self._time_alone(key, case.scenario) if key else None
            m = self.measure(v, case, r, server)
            if key:
                m["app_alone"] = self._time_alone(key, case.scenario, before)
            self.store.add_measurement(m)
            self.progress.done(measurement_line(m))
            dropped = ladder.after(m, plan[i + 1:])
            if m["scenario"] == "latency":
                latency.record_ladder(self.store, ladder)
            if dropped:
                self.progress.drop(dropped)
                self.remaining[v.name] -= dropped
                self.progress.say(f"    {v.name} latency ladder stops at {case.case}, "
                                  f"{ladder.stopped} ({dropped} step(s) dropped)")
            if not server.alive():
                self._fail(v, f"{case.label} (round {r})",
                           f"server {server.exit_description()} during {case.label}; "
                           f"stderr tail:\n{server.stderr_tail()}")
                return False
        return True

    def _app_key(self, name: str) -> str | None:
        return self.store.data["variants"][name].get("app_cost_key")

    # ------------------------------------------------------------ one measurement

    def measure(self, v: Variant, case: Case, r: int, server: lifecycle.Server) -> dict:
        command = case.command(server.url, self.s, self.ctx.build_dir)
        cpu_before = procstat.group_cpu_seconds(server.pgid)
        client = load.run_client(command, case.timeout(self.s))
        cpu_after = procstat.group_cpu_seconds(server.pgid)
        peak_rss = procstat.group_peak_rss_kib(server.pgid)
        raw = self.store.raw_path(v.name, f"r{r}-{case.scenario}-{slug(case.case)}.txt")
        raw.write_text(client.raw_text())
        died = None if server.alive() else f"server {server.exit_description()} during the run"
        record = make_record(v.name, case, r, client, max(cpu_after - cpu_before, 0.0),
                             peak_rss, self.store.relative(raw), died, self.s.client_bound_at)
        if case.tool == "loadgen":
            latency.account_warmup(record)
        return record


def make_record(variant: str, case: Case, r: int, client: load.ClientRun, server_cpu_s: float,
                peak_rss_kib: int, raw: str, server_died: str | None,
                client_bound_at: float) -> dict:
    """One measurement as stored in results.json, judged valid or not (with the reasons)."""
    record = {"variant": variant, "scenario": case.scenario, "case": case.case,
              "tool": case.tool, "params": case.params, "round": r, "command": client.command,
              "raw": raw, "exit_code": client.returncode, "wall_s": round(client.wall_s, 4)}
    fields, problems = load.read_run(case.tool, client, case.params.get("requests"))
    record.update(fields)
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
    every_setting = {**settings.as_dict(), "build_dir": str(ctx.build_dir),
                     "python": ctx.python, "servers_dir": str(ctx.servers_dir)}
    store = results.RunStore(
        ctx.results_dir, argv, every_setting, results.machine_info(),
        results.tool_versions(ctx.python, ctx.build_dir, variants), results.git_info(ctx.root))
    Runner(ctx, settings, store, out).run(variants, broken)
    return store
