import re

from harness import compare, results
from harness.tests.helpers import make_stored_run, run_cli


def test_verdict_words():
    assert compare.verdict(100, 371) == "3.71x faster"
    assert compare.verdict(200, 100) == "2.00x slower"
    assert compare.verdict(5, 5) == "same speed"


def test_compare_lines(tmp_path):
    a = results.load_run(make_stored_run(tmp_path / "a", {"cpp": 1.0, "py": 1.0, "gone": 1.0}))
    b = results.load_run(make_stored_run(tmp_path / "b", {"cpp": 2.0, "py": 0.5},
                                         invalid=(("py", "echo"),)))
    lines = compare.compare_runs(a, b)
    assert lines[0].startswith(f"[a] {a['stamp']}") and lines[1].startswith(f"[b] {b['stamp']}")
    cpp = [ln for ln in lines if ln.startswith("cpp keepalive c=10")]
    assert len(cpp) == 1
    assert re.search(r"\[a\] [\d.]+k req/s -> \[b\] [\d.]+k req/s: 2\.00x faster", cpp[0])
    assert "spread [a] " in cpp[0] and "n=2" in cpp[0]
    py = [ln for ln in lines if ln.startswith("py lol")][0]
    assert "2.00x slower" in py
    assert any(ln.startswith("py echo 1 KiB") and "invalid in [b]" in ln for ln in lines)
    assert "only in [a]: gone" in lines


def test_compare_cli(tmp_path):
    a = make_stored_run(tmp_path, {"cpp": 1.0})
    b = make_stored_run(tmp_path, {"cpp": 1.0})
    proc = run_cli("compare", a.name, b.name, "--results-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "same speed" in proc.stdout or "ranges overlap" in proc.stdout
    proc = run_cli("compare", a.name, "nope", "--results-dir", tmp_path)
    assert proc.returncode == 2 and "no stored run 'nope'" in proc.stderr
