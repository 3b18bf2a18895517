"""Stored runs made to differ, for the compare and page tests: the committed reference run
copied under another stamp, and results.json rewritten as another run would have it."""

import json
import shutil

from harness import results
from harness.config import ROOT

REFERENCE = ROOT / "results" / "20261126T112242Z"


def edit_run(run_dir, change) -> None:
    """Rewrite a stored run's results.json through change(data), as another run would differ."""
    path = run_dir / results.RESULTS_FILE
    data = json.loads(path.read_text())
    change(data)
    results.write_json(path, data)


def copy_reference(dest, stamp: str):
    """The committed reference run, copied under another stamp."""
    run_dir = dest / stamp
    run_dir.mkdir(parents=True)
    shutil.copy(REFERENCE / results.RESULTS_FILE, run_dir)

    def restamp(d):
        d["stamp"] = stamp
    edit_run(run_dir, restamp)
    return run_dir


def scale(variant: str, rps: float = 1.0, cpu: float = 1.0):
    """A change for edit_run: the variant's req/s and server µs/req multiplied, every round."""
    def change(d):
        for m in d["measurements"]:
            if m["variant"] == variant:
                m["rps"] *= rps
                if m.get("server"):
                    m["server"]["us_per_request"] *= cpu
    return change
