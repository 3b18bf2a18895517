"""The package installs (cmake --install --component python) and works from there alone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BUILD_DIR, TIMEOUT

CHECK = """
import urllib.request, httpbridge
assert httpbridge.__file__.startswith({prefix!r}), httpbridge.__file__
with httpbridge.Server(routes=[('/', lambda w, r: w.write('installed'))]) as server:
    server.start()
    print(urllib.request.urlopen(server.url, timeout=10).read().decode())
"""


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
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(packages[0].parent)
    done = subprocess.run([sys.executable, "-c", CHECK.format(prefix=str(prefix))], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "installed\n"
