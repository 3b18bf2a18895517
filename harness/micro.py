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
        try:
            data = json.loads(proc.stdout)
            (run_dir / f"{program.name}.json").write_text(proc.stdout)
            entry["file"] = f"{program.name}.json"
            for b in data.get("benchmarks", []):
                rows.append((program.name, b["name"], _time(b["real_time"], b["time_unit"]),
                             _time(b["cpu_time"], b["time_unit"]), f"{b['iterations']:,}"))
        except json.JSONDecodeError:
            (run_dir / f"{program.name}.stdout.txt").write_text(proc.stdout)
        if proc.returncode != 0 or entry["file"] is None:
            failures += 1
            out.write(f"FAILED (exit code {proc.returncode}; see {program.name}.stderr.txt)\n")
        else:
            out.write("ok\n")
        index["programs"][program.name] = entry
        results.write_json(run_dir / "micro.json", index)
    index["finished"] = results.iso(results.utc_now())
    results.write_json(run_dir / "micro.json", index)
    if rows:
        widths = [max(len(r[i]) for r in rows + [("program", "benchmark", "time", "CPU",
                                                    "iterations")]) for i in range(5)]
        header = ("program", "benchmark", "time", "CPU", "iterations")
        out.write("\n" + "  ".join(h.ljust(w) for h, w in zip(header, widths)) + "\n")
        for r in rows:
            out.write("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                                for i, (c, w) in enumerate(zip(r, widths))) + "\n")
    return run_dir, failures
