"""The Google Benchmark programs: $HB_BUILD_DIR/bridges/bench/bench_*, run with JSON output."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from harness import results
from harness.lifecycle import pin_prefix

FORMAT = "httpbridge-harness-micro"
SCHEMA_VERSION = 1


def find_programs(build_dir: Path) -> list[Path]:
    bench_dir = Path(build_dir) / "bridges" / "bench"
    if not bench_dir.is_dir():
        return []
    return sorted(p for p in bench_dir.glob("bench_*")
                  if p.is_file() and os.access(p, os.X_OK))


def _time(value: float, unit: str) -> str:
    return f"{value:,.1f} {unit}"


# Keys of a benchmark entry that are Google Benchmark's own, not user counters.
_STANDARD_KEYS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
                  "repetitions", "repetition_index", "threads", "iterations", "real_time",
                  "cpu_time", "time_unit", "aggregate_name", "aggregate_unit",
                  "error_occurred", "error_message", "label"}


def _counters(bench: dict) -> str:
    """User counters (e.g. bench_cgo's per_call), which some benchmarks must be read by."""
    return " ".join(f"{k}={v:,.4g}" for k, v in bench.items()
                    if k not in _STANDARD_KEYS and isinstance(v, (int, float)))


def run_micro(build_dir: Path, results_dir: Path, python: str, cpus: str | None,
              extra_args: list[str], out) -> tuple[Path, int]:
    """Run every program; store results/<stamp>-micro/; return (dir, number of failures)."""
    programs = find_programs(build_dir)
    run_dir, moment = results.new_run_dir(Path(results_dir), "-micro")
    index = {"format": FORMAT, "schema_version": SCHEMA_VERSION, "stamp": run_dir.name,
             "started": results.iso(moment), "machine": results.machine_info(),
             "tools": results.tool_versions(python, build_dir), "git": results.git_info(),
             "settings": {"cpus": cpus, "args": extra_args, "build_dir": str(build_dir)},
             "programs": {}}
    failures = 0
    rows = []
    for i, program in enumerate(programs, 1):
        out.write(f"[step {i}/{len(programs)}] {program.name} ... ")
        out.flush()
        command = pin_prefix(cpus) + [str(program), "--benchmark_format=json", *extra_args]
        proc = subprocess.run(command, capture_output=True, text=True)
        (run_dir / f"{program.name}.stderr.txt").write_text(proc.stderr)
        entry = {"command": command, "exit_code": proc.returncode, "file": None}
        errors: list[str] = []
        try:
            data = json.loads(proc.stdout)
            (run_dir / f"{program.name}.json").write_text(proc.stdout)
            entry["file"] = f"{program.name}.json"
            for b in data.get("benchmarks", []):
                if b.get("error_occurred"):
                    # SkipWithError leaves the exit code at 0: the JSON is the only sign.
                    errors.append(f"{program.name}: {b['name']}: {b.get('error_message', '')}")
                    continue
                rows.append((program.name, b["name"], _time(b["real_time"], b["time_unit"]),
                             _time(b["cpu_time"], b["time_unit"]), f"{b['iterations']:,}",
                             _counters(b)))
        except json.JSONDecodeError:
            (run_dir / f"{program.name}.stdout.txt").write_text(proc.stdout)
        if proc.returncode != 0 or entry["file"] is None or errors:
            failures += 1
            out.write(f"FAILED (exit code {proc.returncode}; see {program.name}.stderr.txt)\n")
            for line in errors:
                out.write(f"  {line}\n")
        else:
            out.write("ok\n")
        index["programs"][program.name] = entry
        results.write_json(run_dir / "micro.json", index)
    index["finished"] = results.iso(results.utc_now())
    results.write_json(run_dir / "micro.json", index)
    if rows:
        header = ("program", "benchmark", "time", "CPU", "iterations", "counters")
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(6)]
        out.write("\n" + "  ".join(h.ljust(w) for h, w in zip(header, widths)) + "\n")
        for r in rows:
            out.write("  ".join(c.ljust(w) if i in (0, 1, 5) else c.rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths))) + "\n")
    return run_dir, failures
