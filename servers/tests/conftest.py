"""Fixtures for the variant tests. Variants are found, started, waited for and stopped by
the harness (harness.manifest, harness.lifecycle) and spoken to with harness.httpclient,
exactly as `python3 -m harness` does it: there is one launcher."""

from __future__ import annotations

import dataclasses
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the harness package, when pytest runs from elsewhere

from harness import lifecycle, manifest  # noqa: E402
from harness.config import Context  # noqa: E402

CTX = Context.from_env()


def variant(name: str) -> manifest.Variant:
    return manifest.parse_manifest(CTX.servers_dir / name / manifest.MANIFEST_NAME, CTX)


def _parts_not_configured() -> str | None:
    """Why this build directory has no Go parts at all (then they are absent, not broken)."""
    cache = CTX.build_dir / "CMakeCache.txt"
    if "HB_BUILD_GO:BOOL=OFF" in (cache.read_text(errors="replace") if cache.exists() else ""):
        return f"{CTX.build_dir} was configured with -DHB_BUILD_GO=OFF"
    if shutil.which("go") is None:
        return "go is not installed, so the Go parts were not built"
    return None


def check_requirements(v: manifest.Variant) -> None:
    """Skip when a tool is absent from this machine; fail when a part of ours is not built."""
    missing = manifest.missing_requirements(v, CTX)
    if not missing:
        return
    reason = f"{v.name}: {manifest.why_not(missing)}"
    if any(m.build for m in missing) and not (v.server.startswith("go") and
                                              _parts_not_configured()):
        pytest.fail(reason)
    pytest.skip(reason)


def start_or_skip(name: str, log_dir: Path, env_override: dict[str, str] | None = None
                  ) -> lifecycle.Server:
    """Start a variant from its manifest (env_override as if the manifest said so)."""
    v = variant(name)
    check_requirements(v)
    if env_override:
        v = dataclasses.replace(v, run_env={**v.run_env, **env_override})
    return lifecycle.start(v, log_dir, name)


@pytest.fixture(scope="module")
def running(request, tmp_path_factory):
    """One server per variant (the parameter), shared by a module's tests."""
    server = start_or_skip(request.param, tmp_path_factory.mktemp(request.param))
    yield server
    lifecycle.stop(server)
