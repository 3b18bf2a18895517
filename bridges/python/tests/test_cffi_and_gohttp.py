"""The other two Python bindings (bridges/cffi's hbcffi, bridges/gohttp's gohttp): their
Request and ResponseWriter raise a clear error once their handler has returned, rather than
read what the server freed; hbcffi raises the library's own explanation as ValueError."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUILD_DIR, TIMEOUT, free_port, request

CFFI_DIR = BUILD_DIR / "bridges" / "cffi"
GOHTTP_DIR = BUILD_DIR / "bridges" / "gohttp"

# A handler keeps its request and writer; the next request uses them and reports what each use raised.
KEEP_AND_USE = """
import sys
from {module} import route, run

kept = {{}}


@route("/keep")
def keep(w, req):
    kept["w"], kept["req"] = w, req
    w.write(b"kept")


@route("/use")
def use(w, req):
    uses = [("path", lambda: kept["req"].path), ("body", lambda: kept["req"].body),
            ("write", lambda: kept["w"].write(b"x")), ("set_header", lambda: kept["w"].set_header("X", "y"))]
    out = []
    for name, use_it in uses:
        try:
            use_it()
            out.append(name + ": no error")
        except RuntimeError as e:
            out.append(name + ": " + str(e))
    w.write("\\n".join(out).encode())


@route("/bad-header")
def bad_header(w, req):
    try:
        w.set_header("Bad Name", "v")
    except ValueError as e:
        w.write(str(e).encode())


run("127.0.0.1", int(sys.argv[1]))
"""

STALE = "\n".join([
    "path: Request used after its handler returned",
    "body: Request used after its handler returned",
    "write: ResponseWriter used after its handler returned",
    "set_header: ResponseWriter used after its handler returned",
]).encode()


def start(spawn, tmp_path: Path, module: str, pythonpath: Path):  # type: ignore[no-untyped-def]
    if not (pythonpath / f"{module}.py").exists():
        pytest.skip(f"{module} is not built in {pythonpath}")
    script = tmp_path / f"keep_{module}.py"
    script.write_text(KEEP_AND_USE.format(module=module))
    port = free_port()
    return spawn([sys.executable, str(script), str(port)], port, env={"PYTHONPATH": str(pythonpath)})


@pytest.mark.parametrize("module, directory", [("hbcffi", CFFI_DIR), ("gohttp", GOHTTP_DIR)])
def test_kept_request_and_writer_raise_after_their_handler(spawn, tmp_path: Path, module: str,
                                                           directory: Path) -> None:
    server = start(spawn, tmp_path, module, directory)
    assert request(server.port, path="/keep").body == b"kept"
    used = request(server.port, path="/use")
    assert used.status == 200
    assert used.body == STALE


def test_hbcffi_raises_the_librarys_reasons_as_value_error(spawn, tmp_path: Path) -> None:
    server = start(spawn, tmp_path, "hbcffi", CFFI_DIR)
    assert request(server.port, path="/bad-header").body == (
        b"a header name must be a non-empty HTTP token (letters, digits and !#$%&'*+-.^_`|~)")


def test_hbcffi_refuses_bad_options_with_the_librarys_reason() -> None:
    if not (CFFI_DIR / "hbcffi.py").exists():
        pytest.skip(f"hbcffi is not built in {CFFI_DIR}")
    code = "import hbcffi\ntry:\n    hbcffi.run(port=0, threads=0)\nexcept ValueError as e:\n    print(e)\n"
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(CFFI_DIR)}, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "threads: io_threads must be between 1 and 1024\n"


def exported_names(module: str, directory: Path) -> list[str]:
    """The names the binding's lib offers, as a fresh interpreter sees them."""
    if not (directory / f"{module}.py").exists():
        pytest.skip(f"{module} is not built in {directory}")
    code = f"import {module}\nprint(' '.join(sorted(dir({module}.lib))))\n"
    done = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(directory)}, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_hbcffi_declares_every_function_of_httpbridge_h() -> None:
    """build_cffi.py reads the header: a function added to httpbridge.h reaches hbcffi by itself."""
    header = (Path(__file__).resolve().parents[2] / "httpbridge" / "include" / "httpbridge.h").read_text()
    functions = set(re.findall(r"^HB_API [^(]*?\b(hb_\w+)\(", header, re.M))
    assert len(functions) > 15
    assert functions <= set(exported_names("hbcffi", CFFI_DIR))


def test_gohttp_declares_every_export_of_the_cgo_header() -> None:
    """gohttp.py reads libgohttp.h: an export added in Go reaches Python by itself."""
    header = GOHTTP_DIR / "libgohttp.h"
    if not header.exists():
        pytest.skip(f"libgohttp is not built in {GOHTTP_DIR}")
    exports = set(re.findall(r"^extern \w+\** ?(\w+)\(", header.read_text(), re.M))
    assert {"HandleFunc", "ListenAndServe", "Shutdown", "ResponseWriter_Write"} <= exports
    assert exports <= set(exported_names("gohttp", GOHTTP_DIR))
