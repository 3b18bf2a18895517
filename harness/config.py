"""Where things are: the repository, the build directory, the interpreter, default folders."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS_DIR = Path(__file__).resolve().parent
LUA_DIR = HARNESS_DIR / "lua"
DEFAULT_PYTHON = "/usr/bin/python3"


@dataclasses.dataclass(frozen=True)
class Context:
    """What placeholders and requirement checks need to know about this machine."""

    root: Path
    build_dir: Path
    python: str
    servers_dir: Path
    results_dir: Path
    plots_dir: Path

    @classmethod
    def from_env(cls, servers_dir=None, results_dir=None, plots_dir=None) -> "Context":
        build_dir = Path(os.environ.get("HB_BUILD_DIR") or ROOT / "build").resolve()
        python = os.environ.get("HB_PYTHON") or DEFAULT_PYTHON
        return cls(
            root=ROOT,
            build_dir=build_dir,
            python=python,
            servers_dir=Path(servers_dir or ROOT / "servers").resolve(),
            results_dir=Path(results_dir or ROOT / "results").resolve(),
            plots_dir=Path(plots_dir or ROOT / "plots").resolve(),
        )
