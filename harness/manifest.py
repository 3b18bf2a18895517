"""Variant discovery and manifests: servers/<name>/variant.toml (format in servers/README.md).

A manifest is parsed and checked in full before anything runs; a bad one raises
ManifestError naming the file and the field. Placeholders are substituted per token
after shlex splitting, so paths with spaces stay one argument.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path

from harness.config import Context

MANIFEST_NAME = "variant.toml"
KINDS = ("native", "c-callback", "python-callback", "reference")
BUILD_SYSTEMS = ("cmake", "none", "command")
REQUIREMENT_KINDS = ("cmd", "py", "file")

# Known at discovery time vs. only when a server starts.
STATIC_PLACEHOLDERS = ("build_dir", "variant_dir", "root", "python")
START_PLACEHOLDERS = ("host", "port", "threads", "tmp")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Every key the format defines; anything else is reported as a warning (likely a typo).
KNOWN_KEYS = {
    "": {"title", "kind", "language", "reference_row", "description", "build", "run", "supports"},
    "build": {"system", "target", "command"},
    "run": {"command", "env", "requires", "ready_timeout"},
    "supports": {"keep_alive", "pipelining", "threads"},
}
DEFAULT_READY_TIMEOUT = 10.0


class ManifestError(Exception):
    """A manifest that cannot be used: which file, which field, what is wrong."""

    def __init__(self, path: Path | str, field: str, message: str):
        self.path = str(path)
        self.field = field
        self.message = message
        super().__init__(f"{self.path}: field '{field}': {message}")


@dataclasses.dataclass(frozen=True)
class Requirement:
    kind: str  # cmd | py | file
    value: str  # after static substitution
    spec: str  # as written

    def __str__(self) -> str:
        return self.spec


@dataclasses.dataclass
class Variant:
    name: str
    dir: Path
    manifest: Path
    title: str
    kind: str
    language: str
    reference_row: str | None
    description: str
    build_system: str
    build_target: str | None
    build_command: list[str] | None  # static placeholders substituted
    run_command: list[str]  # tokens with start placeholders still in them
    run_env: dict[str, str]
    requires: list[Requirement]
    ready_timeout: float
    keep_alive: bool
    pipelining: bool
    threads: bool
    warnings: list[str] = dataclasses.field(default_factory=list)

    def command(self, host: str, port: int, threads: int, tmp: str) -> list[str]:
        values = {"host": host, "port": str(port), "threads": str(threads), "tmp": tmp}
        return [substitute(tok, values) for tok in self.run_command]

    def environment(self, host: str, port: int, threads: int, tmp: str) -> dict[str, str]:
        values = {"host": host, "port": str(port), "threads": str(threads), "tmp": tmp}
        return {k: substitute(v, values) for k, v in self.run_env.items()}

    def describe(self) -> dict:
        """The manifest as stored in results.json."""
        return {
            "title": self.title,
            "kind": self.kind,
            "language": self.language,
            "reference_row": self.reference_row,
            "description": self.description,
            "manifest": str(self.manifest),
            "build": {"system": self.build_system, "target": self.build_target,
                      "command": self.build_command},
            "run": {"command": self.run_command, "env": self.run_env,
                    "requires": [r.spec for r in self.requires],
                    "ready_timeout": self.ready_timeout},
            "supports": {"keep_alive": self.keep_alive, "pipelining": self.pipelining,
                         "threads": self.threads},
        }


def substitute(text: str, values: dict[str, str]) -> str:
    """Replace the {name} placeholders present in values; leave others untouched."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def static_values(ctx: Context, variant_dir: Path) -> dict[str, str]:
    return {
        "build_dir": str(ctx.build_dir),
        "variant_dir": str(variant_dir),
        "root": str(ctx.root),
        "python": ctx.python,
    }


# ---------------------------------------------------------------- parsing


class _Fields:
    """Typed access to a TOML table that reports errors with the dotted field name."""

    def __init__(self, path: Path, data: dict, prefix: str = ""):
        self.path, self.data, self.prefix = path, data, prefix

    def name(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def error(self, key: str, message: str) -> ManifestError:
        return ManifestError(self.path, self.name(key), message)

    def get(self, key, types, required, default=None, what=None):
        if key not in self.data:
            if required:
                raise self.error(key, "required, but missing")
            return default
        value = self.data[key]
        # bool is an int in Python: never accept it where a number is meant, and vice versa.
        if isinstance(value, bool) and bool not in types:
            ok = False
        else:
            ok = isinstance(value, types)
        if not ok:
            raise self.error(key, f"must be {what}, got {type(value).__name__} {value!r}")
        return value

    def string(self, key, required=True, default=None):
        value = self.get(key, (str,), required, default, "a string")
        if required and isinstance(value, str) and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def boolean(self, key, default):
        return self.get(key, (bool,), False, default, "true or false")

    def table(self, key, required):
        value = self.get(key, (dict,), required, {}, "a table")
        return _Fields(self.path, value, f"{self.prefix}{key}.")


def _check_placeholders(path: Path, field: str, text: str, allowed: tuple[str, ...]) -> None:
    for m in PLACEHOLDER_RE.finditer(text):
        if m.group(1) not in allowed:
            known = " ".join("{%s}" % a for a in allowed)
            raise ManifestError(path, field, f"placeholder {m.group(0)} is not allowed here "
                                             f"(allowed: {known})")


def _split(path: Path, field: str, text: str) -> list[str]:
    try:
        tokens = shlex.split(text)
    except ValueError as e:
        raise ManifestError(path, field, f"cannot split like a shell: {e}") from None
    if not tokens:
        raise ManifestError(path, field, "must not be empty")
    return tokens


def _warn_unknown(path: Path, fields: _Fields, section: str, warnings: list[str]) -> None:
    for key in fields.data:
        if key not in KNOWN_KEYS[section]:
            where = f"{section}.{key}" if section else key
            warnings.append(f"{path}: field '{where}': unknown key, ignored "
                            f"(see servers/README.md)")


def parse_manifest(path: Path, ctx: Context) -> Variant:
    """Read and check one variant.toml; raise ManifestError naming the field on any problem."""
    path = Path(path)
    variant_dir = path.parent.resolve()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ManifestError(path, "(TOML syntax)", str(e)) from None
    except OSError as e:
        raise ManifestError(path, "(file)", e.strerror or str(e)) from None

    top = _Fields(path, data)
    warnings: list[str] = []
    _warn_unknown(path, top, "", warnings)

    title = top.string("title")
    kind = top.string("kind")
    if kind not in KINDS:
        raise top.error("kind", f"must be one of {', '.join(KINDS)}; got {kind!r}")
    language = top.string("language")
    reference_row = top.string("reference_row", required=False)
    description = top.string("description", required=False, default="")

    static = static_values(ctx, variant_dir)
    static_names = tuple(static)

    build = top.table("build", required=True)
    _warn_unknown(path, build, "build", warnings)
    system = build.string("system")
    if system not in BUILD_SYSTEMS:
        raise build.error("system", f"must be one of {', '.join(BUILD_SYSTEMS)}; got {system!r}")
    target = build.string("target", required=False)
    build_command = None
    raw_build = build.string("command", required=(system == "command"))
    if raw_build is not None:
        if system != "command":
            raise build.error("command", f"only used when build.system = \"command\" "
                                         f"(it is {system!r})")
        _check_placeholders(path, build.name("command"), raw_build, static_names)
        build_command = [substitute(t, static)
                         for t in _split(path, build.name("command"), raw_build)]

    run = top.table("run", required=True)
    _warn_unknown(path, run, "run", warnings)
    all_names = static_names + START_PLACEHOLDERS
    raw_command = run.string("command")
    _check_placeholders(path, run.name("command"), raw_command, all_names)
    run_command = [substitute(t, static) for t in _split(path, run.name("command"), raw_command)]

    env_table = run.get("env", (dict,), False, {}, "a table of strings")
    run_env = {}
    for key, value in env_table.items():
        field = f"run.env.{key}"
        if not isinstance(value, str):
            raise ManifestError(path, field, f"must be a string, got {type(value).__name__}")
        _check_placeholders(path, field, value, all_names)
        run_env[key] = substitute(value, static)

    requires = []
    raw_requires = run.get("requires", (list,), False, [], "a list of strings")
    for i, spec in enumerate(raw_requires):
        field = f"run.requires[{i}]"
        if not isinstance(spec, str):
            raise ManifestError(path, field, f"must be a string, got {type(spec).__name__}")
        kind_, sep, value = spec.partition(":")
        if not sep or kind_ not in REQUIREMENT_KINDS or not value:
            raise ManifestError(path, field, f"{spec!r} must be cmd:NAME, py:MODULE or file:PATH")
        _check_placeholders(path, field, value, static_names)
        value = substitute(value, static)
        if kind_ == "file" and not os.path.isabs(value):
            value = str(variant_dir / value)
        requires.append(Requirement(kind_, value, spec))

    ready_timeout = run.get("ready_timeout", (int, float), False, DEFAULT_READY_TIMEOUT,
                            "a number of seconds")
    if ready_timeout <= 0:
        raise run.error("ready_timeout", f"must be > 0, got {ready_timeout}")

    supports = top.table("supports", required=False)
    _warn_unknown(path, supports, "supports", warnings)

    return Variant(
        name=variant_dir.name,
        dir=variant_dir,
        manifest=path.resolve(),
        title=title,
        kind=kind,
        language=language,
        reference_row=reference_row,
        description=description,
        build_system=system,
        build_target=target,
        build_command=build_command,
        run_command=run_command,
        run_env=run_env,
        requires=requires,
        ready_timeout=float(ready_timeout),
        keep_alive=supports.boolean("keep_alive", True),
        pipelining=supports.boolean("pipelining", False),
        threads=supports.boolean("threads", False),
        warnings=warnings,
    )


def discover(servers_dir: Path, ctx: Context) -> tuple[list[Variant], list[ManifestError]]:
    """Every servers/*/variant.toml, sorted by name: the good ones and the broken ones."""
    variants, broken = [], []
    for path in sorted(Path(servers_dir).glob(f"*/{MANIFEST_NAME}")):
        try:
            variants.append(parse_manifest(path, ctx))
        except ManifestError as e:
            broken.append(e)
    return variants, broken


def select(variants: list[Variant], broken: list[ManifestError],
           names: list[str] | None) -> list[Variant]:
    """The variants asked for by name (all when names is empty); unknown names are an error."""
    if not names:
        return variants
    by_name = {v.name: v for v in variants}
    broken_names = {Path(e.path).parent.name: e for e in broken}
    chosen, unknown = [], []
    for name in names:
        if name in by_name:
            if by_name[name] not in chosen:
                chosen.append(by_name[name])
        elif name not in broken_names:
            unknown.append(name)
    if unknown:
        known = ", ".join(sorted(by_name) + sorted(broken_names)) or "(none)"
        raise LookupError(f"unknown variant(s): {', '.join(unknown)}; known: {known}")
    return chosen


# ---------------------------------------------------------------- requirements

_py_cache: dict[tuple[str, str], bool] = {}


def python_has_module(python: str, module: str) -> bool:
    key = (python, module)
    if key not in _py_cache:
        code = ("import importlib.util, sys\n"
                "try:\n    ok = importlib.util.find_spec(sys.argv[1]) is not None\n"
                "except Exception:\n    ok = False\n"
                "sys.exit(0 if ok else 1)")
        try:
            proc = subprocess.run([python, "-c", code, module], capture_output=True, timeout=60)
            _py_cache[key] = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _py_cache[key] = False
    return _py_cache[key]


def missing_requirements(variant: Variant, ctx: Context, built: bool = False) -> list[str]:
    """Why this variant cannot run here (empty list: it can).

    Files of a variant the harness builds itself (build.system = "command") are only
    checked once built=True; before that they are expected to be missing.
    """
    reasons = []
    for req in variant.requires:
        if req.kind == "cmd":
            if shutil.which(req.value) is None:
                reasons.append(f"command '{req.value}' not found on PATH")
        elif req.kind == "py":
            if not python_has_module(ctx.python, req.value):
                reasons.append(f"Python module '{req.value}' not importable by {ctx.python}")
        elif req.kind == "file":
            if os.path.exists(req.value):
                continue
            if variant.build_system == "command" and not built:
                continue
            if variant.build_system == "cmake":
                target = f" (target {variant.build_target})" if variant.build_target else ""
                reasons.append(f"missing {req.value}{target}: run make build")
            elif variant.build_system == "command":
                reasons.append(f"missing {req.value} after running build.command")
            elif Path(req.value).is_relative_to(ctx.build_dir):
                reasons.append(f"missing {req.value}: run make build")
            else:
                reasons.append(f"missing file {req.value}")
    return reasons
