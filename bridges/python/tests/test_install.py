"""The package installs (cmake --install --component python, and pip install ./bridges/python)
and works from there alone, with the version CMake's project(VERSION) gives it."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUILD_DIR, REPO, TIMEOUT

CHECK = """
import urllib.request, httpbridge
assert httpbridge.__file__.startswith({prefix!r}), httpbridge.__file__
with httpbridge.Server(routes=[('/', lambda w, r: w.write('installed'))]) as server:
    server.start()
    print(urllib.request.urlopen(server.url, timeout=10).read().decode())
print(httpbridge.__version__, httpbridge.library_version())
"""
PIP_TIMEOUT = 900  # seconds: the first time, pip configures and builds all the C++


def project_version() -> str:
    found = re.search(r"project\(httpbridge VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text())
    assert found is not None
    return found.group(1)


def serves_from(site: Path, tmp_path: Path) -> str:
    """Run CHECK with only site on the path; its output."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    done = subprocess.run([sys.executable, "-c", CHECK.format(prefix=str(site))], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_installed_package_serves(tmp_path: Path) -> None:
    cmake = shutil.which("cmake")
    if cmake is None or not (BUILD_DIR / "cmake_install.cmake").exists():
        pytest.skip("needs cmake and a configured build directory")
    prefix = tmp_path / "prefix"
    subprocess.run([cmake, "--install", str(BUILD_DIR), "--component", "python", "--prefix", str(prefix)],
                   check=True, capture_output=True, timeout=60)
    packages = [p.parent for p in prefix.rglob("httpbridge/__init__.py")]
    assert len(packages) == 1
    assert any(p.name.startswith("libhttpbridge.so") for p in packages[0].iterdir())
    version = project_version()
    assert serves_from(packages[0].parent, tmp_path) == f"installed\n{version} {version}\n"


def test_pip_install_builds_and_installs_the_package(tmp_path: Path) -> None:
    """pip install ./bridges/python, offline, with Debian's setuptools: setup.py has CMake build it."""
    if shutil.which("cmake") is None:
        pytest.skip("needs cmake")
    missing = [m for m in ("pip", "setuptools", "wheel") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"needs python3-pip, python3-setuptools and python3-wheel; missing {missing}")
    site = tmp_path / "site"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HB_CMAKE_BUILD_DIR")}
    env["PIP_NO_CACHE_DIR"] = "1"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps",
         "--disable-pip-version-check", "--target", str(site), str(REPO / "bridges" / "python")],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=PIP_TIMEOUT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    version = project_version()
    assert (site / f"httpbridge-{version}.dist-info").is_dir()
    assert any(p.name.startswith("libhttpbridge.so") for p in (site / "httpbridge").iterdir())
    assert serves_from(site, tmp_path) == f"installed\n{version} {version}\n"
