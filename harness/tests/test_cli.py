"""The command line: help everywhere, list, micro without programs, report and plot."""

import json

import pytest

from harness import cli
from harness.tests.helpers import hello_variant, make_stored_run, missing_tool_variant, run_cli, write_variant


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python3 -m harness {command}")
    assert "--results-dir" in out


def test_list_shows_runnable_skipped_and_broken(tmp_path):
    servers = tmp_path / "servers"
    hello_variant(servers, "hello")
    missing_tool_variant(servers, "needs-tool")
    write_variant(servers, "broken", """
        title = "t"
        server = "test"
        handler = "c"
        [build]
        system = "none"
        [run]
        command = "x --port {prot}"
    """)
    proc = run_cli("list", "--servers-dir", servers)
    assert proc.returncode == 1  # a broken manifest is an error worth a non-zero exit
    lines = proc.stdout.splitlines()
    assert any(ln.startswith("hello ") and ln.rstrip().endswith("yes") for ln in lines)
    assert any(ln.startswith("needs-tool ") and "command 'no-such-tool-hb' not found" in ln
               for ln in lines)
    assert any("broken/variant.toml: field 'run.command': placeholder {prot}" in ln
               for ln in lines)


def test_micro_without_programs_says_so(tmp_path):
    proc = run_cli("micro", "--results-dir", tmp_path, env={"HB_BUILD_DIR": str(tmp_path)})
    assert proc.returncode == 1
    assert f"no executable bench_* under {tmp_path}/bridges/bench/" in proc.stderr
    assert list(tmp_path.iterdir()) == []  # nothing stored


def test_micro_runs_programs_and_stores_their_json(tmp_path):
    bench = tmp_path / "build" / "bridges" / "bench"
    bench.mkdir(parents=True)
    fake = bench / "bench_fake"
    fake.write_text("#!/bin/sh\necho '{\"context\": {}, \"benchmarks\": [{\"name\": \"BM_Cross\", "
                    "\"iterations\": 1000, \"real_time\": 12.5, \"cpu_time\": 12.4, "
                    "\"time_unit\": \"ns\"}]}'\n")
    fake.chmod(0o755)
    proc = run_cli("micro", "--no-pin", "--results-dir", tmp_path / "results",
                   env={"HB_BUILD_DIR": str(tmp_path / "build")})
    assert proc.returncode == 0, proc.stderr
    assert "BM_Cross" in proc.stdout and "12.5 ns" in proc.stdout
    (run_dir,) = (tmp_path / "results").iterdir()
    assert run_dir.name.endswith("-micro")
    index = json.loads((run_dir / "micro.json").read_text())
    assert index["programs"]["bench_fake"]["exit_code"] == 0
    stored = json.loads((run_dir / "bench_fake.json").read_text())
    assert stored["benchmarks"][0]["name"] == "BM_Cross"


def test_report_and_plot_from_a_stored_run(tmp_path):
    run_dir = make_stored_run(tmp_path / "results", {"cpp-beast": 2.0, "flask": 0.1},
                              invalid=(("flask", "pipeline"),))
    proc = run_cli("report", "--results-dir", tmp_path / "results")
    assert proc.returncode == 0, proc.stderr
    table = (run_dir / "table.md").read_text()
    assert "| Name | Total | Req/Sec | Time/Req |" in table
    lol = table.split("| Name | Total | Req/Sec | Time/Req |")[1].split("\n\n")[0]
    rows = [ln for ln in lol.splitlines() if ln.startswith("| ") and "---" not in ln]
    assert [r.split(" | ")[0] for r in rows] == ["| cpp-beast", "| flask"]  # fastest first
    assert "## Keep-alive: req/s by concurrency" in table
    assert "## Server CPU per request (µs)" in table
    assert "## Invalid runs" in table and "flask pipeline" in table
    assert "| Name | Total | Req/Sec | Time/Req |" in proc.stdout

    proc = run_cli("plot", run_dir.name, "--results-dir", tmp_path / "results",
                   "--plots-dir", tmp_path / "plots")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "plots" / run_dir.name
    for name in ("lol_rps", "keepalive_rps", "latency", "echo_rps", "server_cpu"):
        for ext in ("png", "svg"):
            assert (out / f"{name}.{ext}").stat().st_size > 1000


def test_report_refuses_an_unknown_schema(tmp_path):
    run_dir = make_stored_run(tmp_path, {"a": 1.0}, rounds=1)
    data = json.loads((run_dir / "results.json").read_text())
    data["schema_version"] = 42
    (run_dir / "results.json").write_text(json.dumps(data))
    proc = run_cli("report", str(run_dir))
    assert proc.returncode == 2
    assert "schema version 42" in proc.stderr and "update this checkout" in proc.stderr


def test_bad_options_are_usage_errors(tmp_path):
    hello_variant(tmp_path / "servers", "hello")
    common = ["--servers-dir", tmp_path / "servers", "--results-dir", tmp_path / "r"]
    proc = run_cli("run", "--scenarios", "lol,nope", *common)
    assert proc.returncode == 2 and "unknown scenario(s) nope" in proc.stderr
    proc = run_cli("run", "--variants", "ghost", *common)
    assert proc.returncode == 2 and "unknown variant(s): ghost; known: hello" in proc.stderr
    proc = run_cli("run", "--server-cpus", "999", *common)
    assert proc.returncode == 2 and "not usable here" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_echo_sizes_and_concurrency_choose_the_cases():
    args = cli.build_parser().parse_args(
        ["run", "--echo-sizes", "16K,1024", "--echo-sizes", "1MiB", "--concurrency", "64"])
    s = cli._settings(args)
    assert s.echo_sizes == [1024, 16384, 1 << 20] and s.concurrency == [64]
    default = cli._settings(cli.build_parser().parse_args(["run"]))
    assert default.echo_sizes == [1024, 262144] and default.concurrency == [10, 256]


@pytest.mark.parametrize("sizes, says", [("16Q", "not a size: '16Q'"), ("9M", "must be 1 byte to 8 MiB"),
                                         ("0", "must be 1 byte to 8 MiB")])
def test_bad_echo_sizes_are_usage_errors(tmp_path, sizes, says):
    hello_variant(tmp_path / "servers", "hello")
    proc = run_cli("run", "--echo-sizes", sizes, "--servers-dir", tmp_path / "servers",
                   "--results-dir", tmp_path / "r")
    assert proc.returncode == 2 and "--echo-sizes: " in proc.stderr and says in proc.stderr
    assert not (tmp_path / "r").exists()
