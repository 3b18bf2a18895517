"""Stored runs: results/<UTC stamp>/results.json, its schema, and what a run records about
the machine, the tools and the source tree.

results.json is rewritten (atomically) after every measurement, so a crash or Ctrl-C keeps
everything that finished. A run directory is created once and never reused.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import subprocess
from pathlib import Path

from harness.config import ROOT

RESULTS_FILE = "results.json"
TABLE_FILE = "table.md"
RAW_DIR = "raw"
FORMAT = "httpbridge-harness-run"

# The one place that knows the schema's versions. Add a line when the layout changes,
# and teach load_run() to read (or refuse) the older ones.
SCHEMA_VERSION = 5
SCHEMA_HISTORY = {
    1: "first version: machine, tools, git, settings, variants (status, reason, verify "
       "checks, events) and one record per measurement (every repeat), raw output beside it",
    2: "variants name `server` and `handler` instead of `kind` and `language`, and carry "
       "`version` (the output of the manifest's run.version command); tools no longer "
       "lists per-variant servers (go, nginx, ...); build.command is gone",
    3: "`app_costs`: each WSGI app measured alone, in-process, once per round (harness/"
       "appcost.py), and each variant's `app_cost_key` naming its entry; manifests may carry "
       "run.wsgi_app and run.wsgi_path; the `latency` scenario: one measurement per ladder "
       "step (tool `loadgen`, params.rate, `loadgen` {offered/achieved rps, saturated, "
       "uncorrected_ms, sender_lag_us, spectrum_ms, ...}, latency_ms corrected), each "
       "variant's `latency_ladder` (per round: guide, steps, why it stopped) and the "
       "latency_* settings",
    4: "the measurements a WSGI variant's app split is read from (the first keepalive, "
       "pipeline and echo case) carry `app_alone`: {key, case, before_us, after_us, "
       "us_per_request (their mean), settings}, the app timed alone right before and right "
       "after, or {key, case, error}",
    5: "`floors`: per WSGI app and round, servers/c-callback run with --work-us set to the "
       "app's cost alone (harness/floor.py): {key: {variant, rounds: [{round, work_us, "
       "error, measurements}]}}",
}
# Nothing that reads a run uses the fields versions 2 and 3 changed, and what versions 3
# to 5 added is optional everywhere, so every version reads as it is.
READABLE_VERSIONS = {1, 2, 3, 4, 5}


class ResultsError(Exception):
    pass


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def stamp_of(moment: datetime.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def iso(moment: datetime.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


# ---------------------------------------------------------------- what the run ran on


def _first_line(command: list[str], stream: str = "stdout") -> str | None:
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (proc.stdout or "") + (proc.stderr or "") if stream == "both" else proc.stdout
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return None


def machine_info() -> dict:
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kib = None
    try:
        with open("/proc/meminfo") as f:
            mem_kib = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    uname = platform.uname()
    return {
        "cpu_model": model or uname.processor or "unknown",
        "cpu_count": os.cpu_count(),
        "cpus_usable": sorted(os.sched_getaffinity(0)),
        "kernel": uname.release,
        "system": uname.system,
        "arch": uname.machine,
        "hostname": uname.node,
        "memory_mib": mem_kib // 1024 if mem_kib else None,
        "loadavg_at_start": list(os.getloadavg()),
    }


def _cmake_cache(build_dir: Path) -> dict[str, str]:
    cache = {}
    try:
        with open(build_dir / "CMakeCache.txt") as f:
            for line in f:
                m = re.match(r"^([A-Za-z_][\w-]*):\w+=(.*)$", line.strip())
                if m:
                    cache[m.group(1)] = m.group(2)
    except OSError:
        pass
    return cache


def _boost_version(cache: dict[str, str]) -> str | None:
    m = re.search(r"Boost-([\d.]+)", cache.get("Boost_DIR", ""))
    if m:
        return m.group(1)
    try:
        text = Path("/usr/include/boost/version.hpp").read_text()
    except OSError:
        return None
    m = re.search(r'#define BOOST_LIB_VERSION "([\d_]+)"', text)
    return m.group(1).replace("_", ".") if m else None


def tool_versions(python: str, build_dir: Path, variants=()) -> dict:
    """Versions of the tools every run uses; None where one is absent.

    What a variant runs on (nginx, Go, gunicorn...) is the variant's business: its manifest's
    run.version command, stored with the variant (command_version).
    """
    cache = _cmake_cache(build_dir)
    compiler = cache.get("CMAKE_CXX_COMPILER") or shutil.which("c++")
    tools = {
        "wrk": _first_line(["wrk", "-v"], "both"),
        "ab": _first_line(["ab", "-V"]),
        "python": _first_line([python, "--version"], "both"),
        "compiler": _first_line([compiler, "--version"]) if compiler else None,
        "cmake_build_type": cache.get("CMAKE_BUILD_TYPE"),
        "boost": _boost_version(cache),
        "kernel": platform.release(),
    }
    modules = sorted({r.value for v in variants for r in v.requires if r.kind == "py"})
    if modules:
        tools["python_modules"] = _python_module_versions(python, modules)
    return tools


def command_version(command: list[str] | None) -> str | None:
    """The first line a variant's run.version command prints (stdout or stderr)."""
    return _first_line(command, "both") if command else None


def _python_module_versions(python: str, modules: list[str]) -> dict:
    code = ("import json, sys, importlib.metadata as md\nout = {}\n"
            "for m in sys.argv[1:]:\n"
            "    try: out[m] = md.version(m.split('.')[0])\n"
            "    except Exception: out[m] = None\n"
            "print(json.dumps(out))")
    try:
        proc = subprocess.run([python, "-c", code, *modules], capture_output=True, text=True,
                              timeout=60)
        return json.loads(proc.stdout)
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError):
        return {m: None for m in modules}


def git_info(root: Path = ROOT) -> dict:
    def git(*args):
        try:
            proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                                  text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--", ".", ":(exclude)results", ":(exclude)plots")
    changed = [ln[3:] for ln in (status or "").splitlines()]
    return {
        "commit": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        # results/ and plots/ do not count: they are what runs write
        "dirty": bool(changed) if status is not None else None,
        "changed": changed[:50],
    }


# ---------------------------------------------------------------- writing a run


def new_run_dir(results_dir: Path, suffix: str = "") -> tuple[Path, datetime.datetime]:
    """A fresh results/<UTC stamp><suffix>/ directory; never an existing one."""
    results_dir.mkdir(parents=True, exist_ok=True)
    moment = utc_now()
    base = stamp_of(moment) + suffix
    for n in range(1, 1000):
        name = base if n == 1 else f"{base}-{n}"
        path = results_dir / name
        try:
            path.mkdir()
            return path, moment
        except FileExistsError:
            continue
    raise ResultsError(f"cannot create a new run directory under {results_dir}")


def write_json(path: Path, data: dict) -> None:
    """Write atomically: a reader (or a crash) never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=False)
        f.write("\n")
    os.replace(tmp, path)


class RunStore:
    """The results.json of one run being made; every change is written at once."""

    def __init__(self, results_dir: Path, command: list[str], settings: dict, machine: dict,
                 tools: dict, git: dict):
        self.dir, moment = new_run_dir(Path(results_dir))
        self.data = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "stamp": self.dir.name,
            "started": iso(moment),
            "finished": None,
            "status": "running",
            "command": command,
            "machine": machine,
            "tools": tools,
            "git": git,
            "settings": settings,
            "broken_manifests": [],
            "variants": {},
            "app_costs": {},
            "floors": {},
            "measurements": [],
        }
        self.save()

    @property
    def path(self) -> Path:
        return self.dir / RESULTS_FILE

    def raw_path(self, variant: str, name: str) -> Path:
        path = self.dir / RAW_DIR / variant / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def relative(self, path: Path) -> str:
        return str(Path(path).relative_to(self.dir))

    def save(self) -> None:
        write_json(self.path, self.data)

    def set_broken_manifests(self, broken: list[dict]) -> None:
        self.data["broken_manifests"] = broken
        self.save()

    def add_variant(self, name: str, record: dict) -> None:
        self.data["variants"][name] = record
        self.save()

    def update_variant(self, name: str, **fields) -> None:
        self.data["variants"][name].update(fields)
        self.save()

    def skip_case(self, name: str, case: str, reason: str) -> None:
        self.data["variants"][name]["skipped_cases"][case] = reason
        self.save()

    def add_verify(self, name: str, round_: int, checks: list[dict]) -> None:
        self.data["variants"][name]["verify"].append({"round": round_, "checks": checks})
        self.save()

    def event(self, name: str, what: str, **details) -> None:
        self.data["variants"][name].setdefault("events", []).append(
            {"time": iso(utc_now()), "what": what, **details})
        self.save()

    def add_app_cost(self, key: str, about: dict, round_: int, result: dict | None,
                     error: str | None) -> None:
        """One round's measurement of a WSGI app alone (app_alone.AppAlone.measure), or why it failed."""
        entry = self.data["app_costs"].setdefault(key, {**about, "rounds": []})
        entry["rounds"].append({"round": round_, "error": error,
                                "cases": (result or {}).get("cases"),
                                "settings": (result or {}).get("settings")})
        self.save()

    def add_floor(self, key: str, variant: str, round_: int, work_us: float | None,
                  measurements: list[dict], error: str | None) -> None:
        """One round of an app's native floor (harness/floor.py), or why it could not run."""
        entry = self.data["floors"].setdefault(key, {"variant": variant, "rounds": []})
        entry["rounds"].append({"round": round_, "work_us": work_us, "error": error,
                                "measurements": measurements})
        self.save()

    def add_measurement(self, record: dict) -> None:
        self.data["measurements"].append(record)
        self.save()

    def finish(self, status: str) -> None:
        """The run is over: `status` for the run and for every variant still pending."""
        for record in self.data["variants"].values():
            if record.get("status") == "pending":
                record["status"] = "ok" if status == "complete" else status
        self.data["status"] = status
        self.data["finished"] = iso(utc_now())
        self.data["machine"]["loadavg_at_end"] = list(os.getloadavg())
        self.save()


# ---------------------------------------------------------------- reading runs


def cases(run: dict, scenario: str) -> list[str]:
    """The cases of a scenario in a stored run, in the order they ran."""
    seen = []
    for m in run.get("measurements", []):
        if m["scenario"] == scenario and m["case"] not in seen:
            seen.append(m["case"])
    return seen


def load_run(path: Path) -> dict:
    """Read a stored run (its directory or its results.json); refuse what we cannot read."""
    path = Path(path)
    if path.is_dir():
        path = path / RESULTS_FILE
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except json.JSONDecodeError as e:
        raise ResultsError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ResultsError(f"{path}: not a harness results file (format is not {FORMAT!r})")
    version = data.get("schema_version")
    if version not in READABLE_VERSIONS:
        known = ", ".join(f"{v} ({SCHEMA_HISTORY[v].split(':')[0]})"
                          for v in sorted(READABLE_VERSIONS))
        newer = isinstance(version, int) and version > SCHEMA_VERSION
        hint = ("written by a newer harness: update this checkout" if newer else
                "not a version this harness knows")
        raise ResultsError(f"{path}: schema version {version!r} is {hint}; "
                           f"this harness reads version(s) {known}")
    data["_dir"] = str(path.parent)
    return data


def list_runs(results_dir: Path) -> list[Path]:
    """Run directories holding a results.json, oldest first (stamps sort by time)."""
    if not Path(results_dir).is_dir():
        return []
    return sorted(p for p in Path(results_dir).iterdir() if (p / RESULTS_FILE).is_file())


def resolve_run(arg: str | None, results_dir: Path) -> Path:
    """A RUN argument: a stamp under results_dir, a path, or (None) the newest run."""
    if not arg:
        runs = list_runs(results_dir)
        if not runs:
            raise ResultsError(f"no stored runs under {results_dir} (run `python3 -m harness "
                               "bench` first)")
        return runs[-1]
    candidates = [Path(results_dir) / arg, Path(arg)]
    for c in candidates:
        if c.is_file() and c.name == RESULTS_FILE:
            return c.parent
        if (c / RESULTS_FILE).is_file():
            return c
    matches = [p for p in list_runs(results_dir) if p.name.startswith(arg)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ResultsError(f"run {arg!r} is ambiguous: " + ", ".join(p.name for p in matches))
    raise ResultsError(f"no stored run {arg!r} (neither a stamp under {results_dir} nor a path "
                       f"to a run directory)")
