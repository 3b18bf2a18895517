import json

import pytest

from harness import results
from harness.tests.helpers import make_stored_run


def test_schema_history_covers_the_current_version():
    assert results.SCHEMA_VERSION in results.SCHEMA_HISTORY
    assert results.SCHEMA_VERSION in results.READABLE_VERSIONS


def test_round_trip(tmp_path):
    run_dir = make_stored_run(tmp_path, {"fast": 2.0, "slow": 0.5})
    run = results.load_run(run_dir)
    assert run["schema_version"] == results.SCHEMA_VERSION
    assert run["stamp"] == run_dir.name and run["status"] == "complete"
    assert run["finished"] and run["machine"]["cpu_count"] >= 1
    assert set(run["variants"]) == {"fast", "slow"}
    # 2 rounds x 2 variants x (lol + 2 keepalive + pipeline + 2 echo)
    assert len(run["measurements"]) == 24
    again = json.loads((run_dir / "results.json").read_text())
    assert again["measurements"] == run["measurements"]
    assert results.load_run(run_dir / "results.json")["stamp"] == run["stamp"]


def test_unknown_schema_version_is_refused(tmp_path):
    run_dir = make_stored_run(tmp_path, {"a": 1.0}, rounds=1)
    data = json.loads((run_dir / "results.json").read_text())
    data["schema_version"] = 99
    (run_dir / "results.json").write_text(json.dumps(data))
    with pytest.raises(results.ResultsError, match="schema version 99 is written by a newer "
                                                   "harness"):
        results.load_run(run_dir)
    data["schema_version"] = 0
    (run_dir / "results.json").write_text(json.dumps(data))
    with pytest.raises(results.ResultsError, match="schema version 0 is not a version"):
        results.load_run(run_dir)
    del data["format"]
    (run_dir / "results.json").write_text(json.dumps(data))
    with pytest.raises(results.ResultsError, match="not a harness results file"):
        results.load_run(run_dir)


def test_a_stored_run_is_never_overwritten(tmp_path):
    dirs = {results.new_run_dir(tmp_path)[0] for _ in range(3)}
    assert len(dirs) == 3  # same second: -2, -3 suffixes, never the same directory


def test_results_are_written_as_they_come(tmp_path):
    store = results.RunStore(tmp_path, ["x"], {"repeats": 1}, {}, {}, {})
    assert json.loads(store.path.read_text())["status"] == "running"
    store.add_variant("v", {"status": "pending"})
    store.add_measurement({"variant": "v", "rps": 1.0})
    on_disk = json.loads(store.path.read_text())
    assert on_disk["measurements"] == [{"variant": "v", "rps": 1.0}]
    assert on_disk["finished"] is None


def test_resolve_run_by_stamp_path_prefix_or_newest(tmp_path):
    first = make_stored_run(tmp_path, {"a": 1.0}, rounds=1)
    second = results.new_run_dir(tmp_path)[0]
    (second / "results.json").write_text((first / "results.json").read_text())
    assert results.resolve_run(None, tmp_path) == second
    assert results.resolve_run(first.name, tmp_path) == first
    assert results.resolve_run(str(first), tmp_path / "elsewhere") == first
    assert results.resolve_run(str(first / "results.json"), tmp_path) == first
    with pytest.raises(results.ResultsError, match="no stored run"):
        results.resolve_run("1999", tmp_path)
    with pytest.raises(results.ResultsError, match="no stored runs"):
        results.resolve_run(None, tmp_path / "empty")


def test_git_info_has_commit_and_dirty_flag():
    info = results.git_info()
    assert info["commit"] is None or len(info["commit"]) == 40
    assert info["dirty"] in (True, False, None)
