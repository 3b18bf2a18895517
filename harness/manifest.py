"""Variant discovery and manifests: servers/<name>/variant.toml (format in servers/README.md).

A manifest is parsed and checked in full before anything runs; a bad one raises
ManifestError naming the file and the field. Placeholders are filled by `fill()` alone, in
one pass over each token after shlex splitting (so paths with spaces stay one argument):
the static ones ({build_dir} ...) where only they are allowed, all of them at start.
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
BUILD_SYSTEMS = ("cmake", "none")
REQUIREMENT_KINDS = ("cmd", "py", "file")
# server and handler are names, not a closed list (a new variant may bring a new server):
# lower case, digits and . + / - (e.g. "httpbridge", "go-net/http", "c++").
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9.+/-]*$")
# Fields of the first manifest format, refused with what replaced them.
REPLACED = {"kind": "replaced by `server` (what speaks HTTP) and `handler` (what answers)",
            "language": "replaced by `handler` (the language the answer is written in)"}

# Known only when a server starts (the static ones are the keys of static_values()).
START_PLACEHOLDERS = ("host", "port", "threads", "tmp")
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

# Every key the format defines; anything else is reported as a warning (likely a typo).
KNOWN_KEYS = {
    "": {"title", "server", "handler", "app", "reference_row", "description", "build", "run",
         "supports"},
    "build": {"system", "target"},
    "run": {"command", "env", "requires", "ready_timeout", "version", "wsgi_app", "wsgi_path"},
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
    server: str  # what accepts connections and speaks HTTP
    handler: str  # what the answers are written in
    app: str  # what answers: "handler" (a bare handler), or an app kind ("wsgi", "flask", ...)
    reference_row: str | None
    description: str
    build_system: str
    build_target: str | None
    run_command: list[str]  # tokens as written; placeholders filled by command()
    run_env: dict[str, str]  # values as written; filled by environment()
    requires: list[Requirement]
    version_command: list[str] | None  # filled; its output is stored with the results
    wsgi_app: str | None  # run.wsgi_app: the module:callable it serves, when the command hides it
    wsgi_path: list[str]  # run.wsgi_path: where that module is imported from (filled)
    ready_timeout: float
    keep_alive: bool
    pipelining: bool
    threads: bool
    static: dict[str, str]  # the values of the static placeholders for this variant
    warnings: list[str] = dataclasses.field(default_factory=list)

    def start_values(self, host: str, port: int, threads: int, tmp: str) -> dict[str, str]:
        return {**self.static, "host": host, "port": str(port), "threads": str(threads),
                "tmp": tmp}

    def command(self, host: str, port: int, threads: int, tmp: str) -> list[str]:
        values = self.start_values(host, port, threads, tmp)
        return [fill(tok, values) for tok in self.run_command]

    def environment(self, host: str, port: int, threads: int, tmp: str) -> dict[str, str]:
        values = self.start_values(host, port, threads, tmp)
        return {k: fill(v, values) for k, v in self.run_env.items()}

    def wsgi_target(self) -> tuple[str, list[str]] | None:
        """(module:callable, import folders) of the WSGI app this variant serves, or None.

        run.wsgi_app says it outright; otherwise it is read from the start command (see
        appcost.app_of_command) for the servers whose command lines name it.
        """
        if self.app == "handler":
            return None
        if self.wsgi_app:
            return self.wsgi_app, list(self.wsgi_path)
        from harness.appcost import app_of_command  # appcost imports nothing of the harness
        probe = ("127.0.0.1", 0, 1, "/tmp")
        return app_of_command(self.command(*probe), self.environment(*probe))

    def describe(self) -> dict:
        """The manifest as stored in results.json."""
        return {
            "title": self.title,
            "server": self.server,
            "handler": self.handler,
            "app": self.app,
            "reference_row": self.reference_row,
            "description": self.description,
            "manifest": str(self.manifest),
            "build": {"system": self.build_system, "target": self.build_target},
            "run": {"command": self.run_command, "env": self.run_env,
                    "requires": [r.spec for r in self.requires],
                    "version": self.version_command,
                    "wsgi_app": self.wsgi_app, "wsgi_path": self.wsgi_path,
                    "ready_timeout": self.ready_timeout},
            "supports": {"keep_alive": self.keep_alive, "pipelining": self.pipelining,
                         "threads": self.threads},
        }


def fill(text: str, values: dict[str, str]) -> str:
    """Replace every {name} placeholder in one pass (the parser allowed only known names)."""
    return PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], text)


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
    for key, why in REPLACED.items():
        if key in data:
            raise top.error(key, f"{why}; see servers/README.md")
    _warn_unknown(path, top, "", warnings)

    title = top.string("title")
    server = _name(top, "server")
    handler = _name(top, "handler")
    app = _name(top, "app") if "app" in top.data else "handler"
    reference_row = top.string("reference_row", required=False)
    description = top.string("description", required=False, default="")

    static = static_values(ctx, variant_dir)
    static_names = tuple(static)
    all_names = static_names + START_PLACEHOLDERS

    build = top.table("build", required=True)
    _warn_unknown(path, build, "build", warnings)
    system = build.string("system")
    if system not in BUILD_SYSTEMS:
        raise build.error("system", f"must be one of {', '.join(BUILD_SYSTEMS)}; got {system!r}")
    target = build.string("target", required=False)

    run = top.table("run", required=True)
    _warn_unknown(path, run, "run", warnings)
    raw_command = run.string("command")
    _check_placeholders(path, run.name("command"), raw_command, all_names)
    run_command = _split(path, run.name("command"), raw_command)

    env_table = run.get("env", (dict,), False, {}, "a table of strings")
    run_env = {}
    for key, value in env_table.items():
        field = f"run.env.{key}"
        if not isinstance(value, str):
            raise ManifestError(path, field, f"must be a string, got {type(value).__name__}")
        _check_placeholders(path, field, value, all_names)
        run_env[key] = value

    requires = []
    raw_requires = run.get("requires", (list,), False, [], "a list of strings")
    for i, spec in enumerate(raw_requires):
        field = f"run.requires[{i}]"
        if not isinstance(spec, str):
            raise ManifestError(path, field, f"must be a string, got {type(spec).__name__}")
        kind, sep, value = spec.partition(":")
        if not sep or kind not in REQUIREMENT_KINDS or not value:
            raise ManifestError(path, field, f"{spec!r} must be cmd:NAME, py:MODULE or file:PATH")
        _check_placeholders(path, field, value, static_names)
        value = fill(value, static)
        if kind == "file" and not os.path.isabs(value):
            value = str(variant_dir / value)
        requires.append(Requirement(kind, value, spec))

    version_command = None
    raw_version = run.string("version", required=False)
    if raw_version is not None:
        _check_placeholders(path, run.name("version"), raw_version, static_names)
        version_command = [fill(t, static) for t in _split(path, run.name("version"), raw_version)]

    wsgi_app = run.string("wsgi_app", required=False)
    if wsgi_app is not None and not re.fullmatch(r"[A-Za-z_][\w.]*(:[A-Za-z_][\w.]*(\(\))?)?",
                                                 wsgi_app):
        raise run.error("wsgi_app", f"must be module:callable (or module:factory()), got "
                                    f"{wsgi_app!r}")
    wsgi_path = []
    raw_path = run.string("wsgi_path", required=False)
    if raw_path is not None:
        if wsgi_app is None:
            raise run.error("wsgi_path", "only means something with run.wsgi_app")
        _check_placeholders(path, run.name("wsgi_path"), raw_path, static_names)
        value = fill(raw_path, static)
        wsgi_path = [value if os.path.isabs(value) else str(variant_dir / value)]
    elif wsgi_app is not None:
        wsgi_path = [str(variant_dir)]

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
        server=server,
        handler=handler,
        app=app,
        reference_row=reference_row,
        description=description,
        build_system=system,
        build_target=target,
        run_command=run_command,
        wsgi_app=wsgi_app,
        wsgi_path=wsgi_path,
        run_env=run_env,
        requires=requires,
        version_command=version_command,
        ready_timeout=float(ready_timeout),
        keep_alive=supports.boolean("keep_alive", True),
        pipelining=supports.boolean("pipelining", False),
        threads=supports.boolean("threads", False),
        static=static,
        warnings=warnings,
    )


def _name(fields: _Fields, key: str) -> str:
    value = fields.string(key)
    if not NAME_RE.match(value):
        raise fields.error(key, f"must be a lower-case name such as \"httpbridge\", "
                                f"\"go-net/http\" or \"c++\"; got {value!r}")
    return value


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

_py_cache: dict[tuple[str, str, str], bool] = {}


def python_has_module(python: str, module: str, pythonpath: str = "") -> bool:
    """Can `python` import `module`, with PYTHONPATH as the variant's run.env sets it?"""
    key = (python, module, pythonpath)
    if key not in _py_cache:
        code = ("import importlib.util, sys\n"
                "try:\n    ok = importlib.util.find_spec(sys.argv[1]) is not None\n"
                "except Exception:\n    ok = False\n"
                "sys.exit(0 if ok else 1)")
        env = dict(os.environ)
        if pythonpath:
            env["PYTHONPATH"] = pythonpath
        try:
            proc = subprocess.run([python, "-c", code, module], capture_output=True, timeout=60,
                                  env=env)
            _py_cache[key] = proc.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _py_cache[key] = False
    return _py_cache[key]


@dataclasses.dataclass(frozen=True)
class Missing:
    """One unmet requirement: why, and whether `make build` is what would meet it."""

    reason: str
    build: bool

    def __str__(self) -> str:
        return self.reason


def missing_requirements(variant: Variant, ctx: Context) -> list[Missing]:
    """Why this variant cannot run here (empty list: it can)."""
    try:  # py: modules are looked for on the PYTHONPATH the variant will run with
        pythonpath = fill(variant.run_env.get("PYTHONPATH", ""), variant.static)
    except KeyError:  # it names a start placeholder ({tmp}): unknown before the start
        pythonpath = ""

    def built_here(text: str) -> bool:
        return str(ctx.build_dir) in text

    missing = []
    for req in variant.requires:
        if req.kind == "cmd":
            if shutil.which(req.value) is None:
                missing.append(Missing(f"command '{req.value}' not found on PATH", False))
        elif req.kind == "py":
            if not python_has_module(ctx.python, req.value, pythonpath):
                where = f" (PYTHONPATH={pythonpath})" if pythonpath else ""
                build = built_here(pythonpath)
                missing.append(Missing(f"Python module '{req.value}' not importable by "
                                       f"{ctx.python}{where}" + (": run make build" if build
                                                                 else ""), build))
        elif req.kind == "file" and not os.path.exists(req.value):
            if variant.build_system == "cmake" or built_here(req.value):
                target = f" (target {variant.build_target})" if variant.build_target else ""
                missing.append(Missing(f"missing {req.value}{target}: run make build", True))
            else:
                missing.append(Missing(f"missing file {req.value}", False))
    return missing


def why_not(missing: list[Missing]) -> str:
    return "; ".join(m.reason for m in missing)
