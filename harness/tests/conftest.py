import pytest

from harness.config import ROOT, Context
from harness.tests.helpers import PYTHON


@pytest.fixture
def ctx(tmp_path) -> Context:
    """A context whose servers, results and plots live in a temporary directory."""
    return Context(root=ROOT, build_dir=tmp_path / "build", python=PYTHON,
                   servers_dir=tmp_path / "servers", results_dir=tmp_path / "results",
                   plots_dir=tmp_path / "plots")
