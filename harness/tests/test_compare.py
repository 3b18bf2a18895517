"""compare: what differs between two stored runs, and which changes are beyond the noise."""

import re

from harness import compare, results
from harness.tests.helpers import make_stored_run, run_cli
from harness.tests.stored_runs import copy_reference, edit_run, scale

WARNING = "WARNING: THE TWO RUNS WERE MADE ON DIFFERENT MACHINES"


def rows_of(lines, label):
    return [ln for ln in lines if ln.startswith(label + " ")]


def test_different_machines_warn_loudly_and_list_what_differs(tmp_path):
    # The user's case: the committed reference run (an AMD EPYC) against a fresh one elsewhere.
    a = copy_reference(tmp_path, "20261126T112242Z")
    b = copy_reference(tmp_path, "20261202T080000Z")

    def other_machine(d):
        d["machine"]["cpu_model"] = "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
        d["machine"]["kernel"] = "6.1.0-27-amd64"
        d["tools"]["wrk"] = "wrk 4.2.0 [epoll]"
        d["settings"]["duration"] = 5
        d["git"].update(commit="fedcba9876543210", dirty=True, changed=["harness/load.py"])
        d["variants"]["nginx"]["run"]["command"].append("-g daemon off;")
        del d["tools"]["uwsgi"]  # [b] did not run uwsgi: not a difference
        d["machine"]["loadavg_at_start"] = [2.5, 2.0, 1.0]
    edit_run(b, other_machine)
    edit_run(b, scale("cpp-beast", rps=3.12))

    proc = run_cli("compare", a.name, b.name, "--results-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert WARNING in proc.stdout
    assert any("machine cpu_model: [a] AMD EPYC  [b] Intel(R) Xeon(R)" in ln for ln in out)
    diffs = {ln.split("[a]")[0].strip(): ln for ln in out if "[a]" in ln and "[b]" in ln}
    assert "[a] 6.18.44-fc-v657  [b] 6.1.0-27-amd64" in diffs["machine kernel"]
    assert "[b] wrk 4.2.0 [epoll]" in diffs["tool wrk"]
    assert "[a] 3  [b] 5" in diffs["setting duration"]
    assert "[b] fedcba9876543210" in diffs["git commit"] and "[b] yes" in diffs["git dirty"]
    assert "harness/load.py" in diffs["git changed"]
    assert "daemon off" in diffs["variant nginx manifest run.command"]
    # what was the same is not listed as a difference, nor a tool only one run used
    assert "tool python" not in diffs and "setting repeats" not in diffs
    assert "tool uwsgi" not in diffs and "tool kernel" not in diffs
    assert ("note: [b] started with a load average of 2.50 on 2 CPUs: other work was running"
            in proc.stdout) and "note: [a]" not in proc.stdout
    assert "Not recorded, so not compared: CPU frequency scaling" in proc.stdout
    (row,) = rows_of(out, "cpp-beast keepalive c=10")
    assert "3.12x faster" in row


def test_same_machine_no_warning(tmp_path):
    a = copy_reference(tmp_path, "20261126T112242Z")
    b = copy_reference(tmp_path, "20261126T120000Z")
    proc = run_cli("compare", a.name, b.name, "--results-dir", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert WARNING not in proc.stdout
    assert "Same tools, settings, commit and variant manifests in both runs." in proc.stdout

    def new_kernel(d):  # the same machine after a kernel update: MemTotal moves a little
        d["machine"]["kernel"] = "6.18.50"
        d["machine"]["memory_mib"] -= 40
    edit_run(b, new_kernel)
    proc = run_cli("compare", a.name, b.name, "--results-dir", tmp_path)
    assert WARNING not in proc.stdout
    assert "machine memory_mib  [a] 24105  [b] 24065" in proc.stdout
    assert "machine kernel      [a] 6.18.44-fc-v657  [b] 6.18.50" in proc.stdout

    def half_the_memory(d):
        d["machine"]["memory_mib"] = 12000
    edit_run(b, half_the_memory)
    proc = run_cli("compare", a.name, b.name, "--results-dir", tmp_path)
    assert WARNING in proc.stdout and "machine memory_mib: [a] 24105  [b] 12000" in proc.stdout


def test_rows_within_noise_say_so(tmp_path):
    # rounds are 1% apart (make_stored_run): a 0.5% change overlaps, a 2x change does not
    a = results.load_run(make_stored_run(tmp_path / "a", {"cpp": 1.0, "py": 1.0, "gone": 1.0}))
    b_dir = make_stored_run(tmp_path / "b", {"cpp": 2.0, "py": 1.005, "new": 1.0},
                            invalid=(("py", "echo"),))
    edit_run(b_dir, scale("cpp", cpu=0.5))
    b = results.load_run(b_dir)
    lines = compare.compare_runs(a, b)
    (cpp,) = rows_of(lines, "cpp keepalive c=10")
    assert re.search(r"2\.00x faster\s+significant\s", cpp)
    assert re.search(r"2\.00x less CPU\s+significant$", cpp)
    (py,) = rows_of(lines, "py keepalive c=10")
    assert "not significant (overlap)" in py
    assert py.count("not significant (overlap)") == 2  # req/s and server µs/req
    assert "ᶜ" in py  # the sample runs are client-bound: marked
    assert any(ln.startswith("py echo 1 KiB") and "invalid in [b]: not compared" in ln
               for ln in lines)
    assert "only in [a]: gone" in lines and "only in [b]: new" in lines
    method = [ln for ln in lines if ln.startswith("Significance, from the valid rounds")]
    assert len(method) == 1 and "Mann-Whitney" in method[0]  # named once, under the table


def test_single_round_is_never_significant(tmp_path):
    a = results.load_run(make_stored_run(tmp_path / "a", {"cpp": 1.0}, rounds=1))
    b = results.load_run(make_stored_run(tmp_path / "b", {"cpp": 3.0}, rounds=1))
    (row,) = rows_of(compare.compare_runs(a, b), "cpp keepalive c=10")
    assert "3.00x faster" in row and "not significant (1 round)" in row


def test_fail_above_gates_on_significant_regressions(tmp_path):
    a = make_stored_run(tmp_path, {"cpp": 1.0, "py": 1.0})
    slower = make_stored_run(tmp_path, {"cpp": 0.5, "py": 1.0})  # cpp 50% slower
    noisy = make_stored_run(tmp_path, {"cpp": 0.995, "py": 1.0})  # within the rounds' noise

    proc = run_cli("compare", a.name, slower.name, "--fail-above", "10", "--results-dir",
                   tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "REGRESSION cpp keepalive c=10 req/s: 50.0% worse (above 10%, significant)" in \
        proc.stdout
    assert "REGRESSION py" not in proc.stdout

    proc = run_cli("compare", a.name, slower.name, "--fail-above", "60", "--results-dir",
                   tmp_path)
    assert proc.returncode == 0 and "no significant regression above 60%" in proc.stdout

    proc = run_cli("compare", a.name, noisy.name, "--fail-above", "0", "--results-dir", tmp_path)
    assert proc.returncode == 0 and "no significant regression above 0%" in proc.stdout

    proc = run_cli("compare", slower.name, a.name, "--fail-above", "10", "--results-dir",
                   tmp_path)
    assert proc.returncode == 0, "getting faster is not a regression"

    edit_run(slower, scale("py", cpu=1.5))  # server CPU per request counts too
    proc = run_cli("compare", a.name, slower.name, "--fail-above", "40", "--results-dir",
                   tmp_path)
    assert proc.returncode == 1
    assert "REGRESSION py keepalive c=10 server µs/req: 50.0% worse" in proc.stdout


def test_fail_above_refuses_to_gate_across_machines(tmp_path):
    a = make_stored_run(tmp_path, {"cpp": 1.0})
    b = make_stored_run(tmp_path, {"cpp": 0.5})

    def other(d):
        d["machine"]["cpu_count"] = 64
    edit_run(b, other)
    proc = run_cli("compare", a.name, b.name, "--fail-above", "10", "--results-dir", tmp_path)
    assert proc.returncode == 2
    assert WARNING in proc.stdout and "different machines" in proc.stderr


def test_fail_above_needs_a_percentage(tmp_path):
    a = make_stored_run(tmp_path, {"cpp": 1.0})
    proc = run_cli("compare", a.name, a.name, "--fail-above", "lots", "--results-dir", tmp_path)
    assert proc.returncode == 2 and "not a percentage: 'lots'" in proc.stderr


def test_compare_cli_errors(tmp_path):
    a = make_stored_run(tmp_path, {"cpp": 1.0})
    proc = run_cli("compare", a.name, "nope", "--results-dir", tmp_path)
    assert proc.returncode == 2 and "no stored run 'nope'" in proc.stderr


def test_verdict_words():
    def change(a, b, higher_is_better=True):
        s = lambda v: {"median": v, "min": v, "max": v, "n": 2}  # noqa: E731
        return compare.Change("x", s(a), s(b), None, higher_is_better)
    assert change(100, 371).words == "3.71x faster"
    assert change(200, 100).words == "2.00x slower"
    assert change(5, 5).words == "same"
    assert change(10, 5, False).words == "2.00x less CPU"
    assert change(10, 5).worse_pct == 50 and change(10, 15, False).worse_pct == 50


def test_cases_measured_in_one_run_only_are_named(tmp_path):
    a = results.load_run(make_stored_run(tmp_path / "a", {"cpp": 1.0}))
    b_dir = make_stored_run(tmp_path / "b", {"cpp": 1.0})

    def drop(d):
        d["measurements"] = [m for m in d["measurements"] if m["case"] != "c=64"]
    edit_run(b_dir, drop)
    lines = compare.compare_runs(a, results.load_run(b_dir))
    assert "cases only in [a]: cpp keepalive c=64" in lines


def test_html_to_an_unwritable_place_says_so(tmp_path):
    a = make_stored_run(tmp_path, {"cpp": 1.0})
    proc = run_cli("compare", a.name, a.name, "--html", tmp_path, "--results-dir", tmp_path)
    assert proc.returncode == 2 and f"--html {tmp_path}: cannot write it" in proc.stderr
