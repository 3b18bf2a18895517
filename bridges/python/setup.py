"""Build the httpbridge wheel: CMake builds the package, setuptools packs it.

pyproject.toml names setuptools as the backend; this file only teaches it to
let CMake do the build. The CMake build is the one `make build` does: the
extension and libhttpbridge come from the same targets, and the files of the
package from the same `cmake --install --component python`, so a pip install
and a CMake install cannot differ. The version is project(VERSION) of the top
CMakeLists.txt, the one place it is set.

HB_CMAKE_BUILD_DIR names an already configured build directory to reuse
(e.g. the repository's build/); without it one is configured under setuptools'
build_temp (bridges/python/build/, git-ignored), which later installs reuse.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parents[2]


def cmake_version() -> str:
    text = (ROOT / "CMakeLists.txt").read_text()
    found = re.search(r"project\(\s*httpbridge\s+VERSION\s+([0-9.]+)", text)
    if found is None:
        raise RuntimeError(f"no project(httpbridge VERSION x.y.z) in {ROOT / 'CMakeLists.txt'}")
    return found.group(1)


def cmake(*args: str) -> None:
    subprocess.run(["cmake", *args], check=True)


class CMakeBuild(build_ext):
    """Build the _httpbridge target, install the python component, copy it into the wheel."""

    def run(self) -> None:
        if shutil.which("cmake") is None:
            raise RuntimeError("building httpbridge needs cmake (Debian: apt-get install cmake)")
        build_dir = os.environ.get("HB_CMAKE_BUILD_DIR") or str(Path(self.build_temp).resolve() / "cmake")
        if not (Path(build_dir) / "CMakeCache.txt").exists():
            cmake("-S", str(ROOT), "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", f"-DHB_PYTHON={sys.executable}",
                  "-DHB_BUILD_TESTS=OFF", "-DHB_BUILD_GO=OFF", "-DHB_BUILD_BENCH=OFF")
        cmake("--build", build_dir, "--target", "_httpbridge", "-j", str(os.cpu_count() or 1))
        with tempfile.TemporaryDirectory() as prefix:
            cmake("--install", build_dir, "--component", "python", "--prefix", prefix)
            packages = list(Path(prefix).rglob("httpbridge/__init__.py"))
            if len(packages) != 1:
                raise RuntimeError(f"cmake --install put {len(packages)} httpbridge packages under {prefix}")
            target = Path(self.build_lib) / "httpbridge"
            shutil.copytree(packages[0].parent, target, dirs_exist_ok=True, symlinks=False)


setup(
    version=cmake_version(),
    ext_modules=[Extension("httpbridge._httpbridge", sources=[])],  # built by CMake, see CMakeBuild
    cmdclass={"build_ext": CMakeBuild},
)
