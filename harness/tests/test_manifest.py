import pytest

from harness import manifest
from harness.manifest import ManifestError, parse_manifest

from harness.tests.helpers import write_variant

GOOD = """
    title = "C++ on Boost.Beast"
    server = "httpbridge"
    handler = "c++"
    reference_row = "go-net/http"
    description = "test"

    [build]
    system = "cmake"
    target = "cpp-beast"

    [run]
    command = "{build_dir}/servers/cpp-beast/cpp-beast --host {host} --port {port} --threads {threads}"
    env = { DATA = "{tmp}/data", ROOT = "{root}" }
    requires = ["file:{build_dir}/servers/cpp-beast/cpp-beast", "cmd:sh", "py:json"]
    ready_timeout = 5

    [supports]
    keep_alive = true
    pipelining = true
    threads = true
"""


def parse(ctx, text, name="v"):
    d = write_variant(ctx.servers_dir, name, text)
    return parse_manifest(d / "variant.toml", ctx)


def test_good_manifest_is_read_in_full(ctx):
    v = parse(ctx, GOOD, "cpp-beast")
    assert v.name == "cpp-beast"
    assert (v.title, v.server, v.handler, v.reference_row) == (
        "C++ on Boost.Beast", "httpbridge", "c++", "go-net/http")
    assert v.build_system == "cmake" and v.build_target == "cpp-beast"
    assert v.ready_timeout == 5.0
    assert (v.keep_alive, v.pipelining, v.threads) == (True, True, True)
    assert [r.kind for r in v.requires] == ["file", "cmd", "py"]
    assert v.requires[0].value == f"{ctx.build_dir}/servers/cpp-beast/cpp-beast"
    assert v.warnings == []


def test_placeholders_are_substituted_per_token(ctx):
    v = parse(ctx, GOOD)
    cmd = v.command("127.0.0.1", 8080, 3, "/tmp/x y")
    assert cmd == [f"{ctx.build_dir}/servers/cpp-beast/cpp-beast", "--host", "127.0.0.1",
                   "--port", "8080", "--threads", "3"]
    env = v.environment("127.0.0.1", 8080, 3, "/tmp/x y")
    assert env == {"DATA": "/tmp/x y/data", "ROOT": str(ctx.root)}


def test_variant_dir_and_python_placeholders(ctx):
    v = parse(ctx, GOOD.replace('command = "{build_dir}',
                                'command = "{python} {variant_dir}/app.py {build_dir}'))
    cmd = v.command("h", 1, 1, "t")
    assert cmd[0] == ctx.python
    assert cmd[1] == str(ctx.servers_dir / "v" / "app.py")


def test_defaults_for_optional_fields(ctx):
    v = parse(ctx, """
        title = "t"
        server = "test"
        handler = "go"
        [build]
        system = "none"
        [run]
        command = "server {port}"
    """)
    assert v.reference_row is None and v.description == ""
    assert v.ready_timeout == manifest.DEFAULT_READY_TIMEOUT
    assert (v.keep_alive, v.pipelining, v.threads) == (True, False, False)
    assert v.requires == [] and v.run_env == {}


@pytest.mark.parametrize("change, field, words", [
    (("title = \"C++ on Boost.Beast\"\n", ""), "title", "required"),
    (('server = "httpbridge"', 'server = "Boost Beast"'), "server", "lower-case name"),
    (('handler = "c++"', "handler = 3"), "handler", "must be a string"),
    (('handler = "c++"', 'handler = "c++"\nkind = "native"'), "kind", "replaced by `server`"),
    (("--port {port}", "--port {port} --version {version}"), "run.command", "{version}"),
    (('ready_timeout = 5', 'ready_timeout = 5\nversion = "x --port {port}"'), "run.version",
     "placeholder {port}"),
    (('system = "cmake"', 'system = "bazel"'), "build.system", "must be one of"),
    (('command = "{build_dir}/servers/cpp-beast/cpp-beast --host {host} --port {port} '
      '--threads {threads}"', ""), "run.command", "required"),
    (("--port {port}", "--port {prot}"), "run.command", "placeholder {prot}"),
    (('"cmd:sh"', '"sh"'), "run.requires[1]", "cmd:NAME"),
    (('"file:{build_dir}', '"file:{port}'), "run.requires[0]", "placeholder {port}"),
    (("ready_timeout = 5", "ready_timeout = -1"), "run.ready_timeout", "must be > 0"),
    (("ready_timeout = 5", 'ready_timeout = "5"'), "run.ready_timeout", "a number"),
    (("keep_alive = true", 'keep_alive = "yes"'), "supports.keep_alive", "true or false"),
    (('ROOT = "{root}"', "ROOT = 1"), "run.env.ROOT", "must be a string"),
    (("--threads {threads}\"", "--threads '{threads}\""), "run.command", "split like a shell"),
    (('system = "cmake"', 'system = "command"'), "build.system", "must be one of"),
])
def test_bad_manifest_names_file_and_field(ctx, change, field, words):
    old, new = change
    assert old in GOOD
    with pytest.raises(ManifestError) as info:
        parse(ctx, GOOD.replace(old, new, 1), "broken")
    err = info.value
    assert err.field == field
    assert words in err.message
    text = str(err)
    assert str(ctx.servers_dir / "broken" / "variant.toml") in text and f"'{field}'" in text


def test_toml_syntax_error_names_the_file(ctx):
    with pytest.raises(ManifestError) as info:
        parse(ctx, 'title = "unterminated\n', "syntax")
    assert info.value.field == "(TOML syntax)"
    assert "syntax/variant.toml" in str(info.value)


def test_unknown_keys_are_warnings_not_errors(ctx):
    v = parse(ctx, GOOD.replace("threads = true", "threads = true\npipelineing = true"))
    assert len(v.warnings) == 1
    assert "supports.pipelineing" in v.warnings[0]


def test_discover_sorts_and_separates_broken(ctx):
    write_variant(ctx.servers_dir, "b-good", GOOD)
    write_variant(ctx.servers_dir, "a-good", GOOD)
    write_variant(ctx.servers_dir, "c-bad", GOOD.replace('server = "httpbridge"', 'server = ""'))
    (ctx.servers_dir / "not-a-variant").mkdir()
    variants, broken = manifest.discover(ctx.servers_dir, ctx)
    assert [v.name for v in variants] == ["a-good", "b-good"]
    assert len(broken) == 1 and broken[0].field == "server"
    assert manifest.select(variants, broken, ["b-good"])[0].name == "b-good"
    assert manifest.select(variants, broken, ["c-bad"]) == []  # broken: reported elsewhere
    with pytest.raises(LookupError, match="unknown variant"):
        manifest.select(variants, broken, ["nope"])


def test_missing_requirements_name_what_is_missing(ctx):
    v = parse(ctx, GOOD.replace('"cmd:sh", "py:json"',
                                '"cmd:no-such-tool-hb", "py:no_such_mod_hb"'))
    reasons = [m.reason for m in manifest.missing_requirements(v, ctx)]
    assert any("run make build" in r and "cpp-beast" in r for r in reasons)
    assert any("'no-such-tool-hb' not found on PATH" in r for r in reasons)
    assert any("'no_such_mod_hb' not importable" in r for r in reasons)


def test_python_modules_are_found_on_the_variants_pythonpath(ctx, tmp_path):
    (tmp_path / "mods").mkdir()
    (tmp_path / "mods" / "hb_only_here.py").write_text("")
    text = (GOOD.replace('"cmd:sh", "py:json"', '"py:hb_only_here"')
            .replace('requires = ["file:{build_dir}/servers/cpp-beast/cpp-beast", ', 'requires = [')
            .replace('ROOT = "{root}"', f'PYTHONPATH = "{tmp_path}/mods"'))
    assert manifest.missing_requirements(parse(ctx, text), ctx) == []
    lost = parse(ctx, text.replace(f"{tmp_path}/mods", f"{tmp_path}/elsewhere"))
    (missing,) = manifest.missing_requirements(lost, ctx)
    assert "'hb_only_here' not importable" in missing.reason and not missing.build


def test_a_missing_build_product_says_make_build(ctx):
    (missing,) = manifest.missing_requirements(parse(ctx, GOOD), ctx)
    assert missing.build and missing.reason.endswith("(target cpp-beast): run make build")


def test_placeholders_are_filled_once(ctx):
    # A value that looks like a placeholder is not expanded again.
    v = parse(ctx, GOOD)
    assert v.command("{port}", 1, 1, "t")[2] == "{port}"


def test_version_command_is_split_and_filled(ctx):
    v = parse(ctx, GOOD.replace("ready_timeout = 5",
                                'ready_timeout = 5\nversion = "go version {build_dir}/x"'))
    assert v.version_command == ["go", "version", f"{ctx.build_dir}/x"]
    assert v.describe()["run"]["version"] == v.version_command
