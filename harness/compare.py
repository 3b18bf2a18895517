"""Two stored runs side by side, the way pyperf compares: first every difference between the runs
that can move a figure (and a loud warning when the machines differ), then per variant and case
"[a] 12.3k req/s -> [b] 45.6k req/s: 3.71x faster" and the same for server CPU per request, each
marked significant or not from the rounds."""

from __future__ import annotations

import dataclasses
import json

from harness.report import CLIENT_BOUND_MARK
from harness.significance import ALPHA, Verdict, judge
from harness.stats import by_case, fmt_count, fmt_num

UNKNOWN = "unknown"

# What identifies the hardware: when one of these differs, a ratio compares machines.
MACHINE_KEYS = ("cpu_model", "cpu_count", "arch", "memory_mib")
# Recorded but not a property of the run's conditions (or always different).
IGNORED = {"machine": {"loadavg_at_start", "loadavg_at_end", "system"},
           "tools": {"kernel"},  # the same as machine.kernel
           "settings": {"build_dir", "servers_dir"},
           "git": {"branch"}}
# Manifest fields that change what is measured (title and description do not).
MANIFEST_KEYS = ("server", "handler", "build", "run", "supports")
# What can move a figure but no run records, so a comparison cannot see it.
NOT_RECORDED = ("CPU frequency scaling, turbo and governor", "SMT siblings of the pinned CPUs",
                "compiler flags beyond the CMake build type",
                "other load on the machine beyond the load average",
                "the variants' source when the tree was dirty (only the changed paths are kept)")


@dataclasses.dataclass
class Difference:
    what: str
    a: str
    b: str


@dataclasses.dataclass
class Change:
    """One figure of one case in both runs."""

    metric: str  # "req/s" or "server µs/req"
    a: dict  # summary: median, min, max, n
    b: dict
    verdict: Verdict
    higher_is_better: bool
    terms: tuple[str, str] | None = None  # words when [b] is higher / lower, if not the usual

    @property
    def worse_pct(self) -> float:
        """How much worse [b] is than [a], in percent of [a] (negative: better)."""
        change = (self.b["median"] - self.a["median"]) / self.a["median"] * 100
        return -change if self.higher_is_better else change

    @property
    def words(self) -> str:
        a, b = self.a["median"], self.b["median"]
        if a == b:
            return "same"
        ratio = max(a, b) / min(a, b)
        if self.terms:
            return f"{ratio:.2f}x {self.terms[0] if b > a else self.terms[1]}"
        if self.higher_is_better:
            return f"{ratio:.2f}x {'faster' if b > a else 'slower'}"
        return f"{ratio:.2f}x {'more' if b > a else 'less'} CPU"


@dataclasses.dataclass
class Row:
    variant: str
    scenario: str
    case: str
    rps: Change | None = None
    cpu: Change | None = None
    invalid_in: list[str] = dataclasses.field(default_factory=list)  # "[a]", "[b]"
    client_bound_in: list[str] = dataclasses.field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.variant} {self.scenario} {self.case}"


@dataclasses.dataclass
class Comparison:
    a: dict
    b: dict
    machine: list[Difference]  # hardware differences: non-empty means a loud warning
    differences: list[Difference]  # every other difference that can move a figure
    rows: list[Row]
    only_a: list[str]  # variants measured in one run only
    only_b: list[str]
    cases_only_a: list[str] = dataclasses.field(default_factory=list)  # of shared variants
    cases_only_b: list[str] = dataclasses.field(default_factory=list)
    latency: list = dataclasses.field(default_factory=list)  # compare_latency.LatencyRow

    def regressions(self, pct: float) -> list[tuple[Row, Change]]:
        """Significant changes for the worse by more than pct percent, on any figure."""
        pairs = [(row, ch) for row in self.rows for ch in (row.rps, row.cpu)]
        pairs += [(row, row.change) for row in self.latency]
        return [(row, ch) for row, ch in pairs
                if ch and ch.verdict.significant and ch.worse_pct > pct]


# ---------------------------------------------------------------- what differs


def _show(value) -> str:
    if value is None:
        return UNKNOWN
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


def _flat(prefix: str, value, out: dict) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else k, v, out)
    else:
        out[prefix] = value


def _section_diffs(name: str, a: dict | None, b: dict | None, skip=(),
                   absent: str = UNKNOWN) -> list[Difference]:
    fa, fb = {}, {}
    _flat("", a or {}, fa)
    _flat("", b or {}, fb)
    keys = list(fa) + [k for k in fb if k not in fa]
    shown = [(k, _show(fa[k]) if k in fa else absent, _show(fb[k]) if k in fb else absent)
             for k in keys if k not in skip]
    return [Difference(f"{name} {k}", va, vb) for k, va, vb in shown if va != vb]


def _manifest(run: dict, name: str) -> dict:
    """The parts of a stored manifest that shape the figures, with the run's own paths folded
    back into placeholders so that two checkouts of one tree compare equal."""
    rec = run["variants"][name]
    text = json.dumps({k: rec.get(k) for k in MANIFEST_KEYS})
    s = run.get("settings") or {}
    for path, placeholder in ((s.get("build_dir"), "{build_dir}"),
                              (s.get("servers_dir"), "{servers_dir}")):
        if path:
            text = text.replace(json.dumps(path)[1:-1], placeholder)
    return json.loads(text)


def _same_memory(a, b) -> bool:
    # MemTotal moves by a few MiB with the kernel's own reservations: only a real change counts
    return isinstance(a, int) and isinstance(b, int) and abs(a - b) <= 0.05 * max(a, b)


def machine_differences(a: dict, b: dict) -> list[Difference]:
    ma, mb = a.get("machine") or {}, b.get("machine") or {}
    return [Difference(f"machine {k}", _show(ma.get(k)), _show(mb.get(k)))
            for k in MACHINE_KEYS if _show(ma.get(k)) != _show(mb.get(k))
            and not (k == "memory_mib" and _same_memory(ma.get(k), mb.get(k)))]


def differences(a: dict, b: dict) -> list[Difference]:
    """Everything recorded that differs and can move a figure, hardware aside."""
    hardware = {d.what.split(" ", 1)[1] for d in machine_differences(a, b)}
    out = _section_diffs("machine", a.get("machine"), b.get("machine"),
                         hardware | IGNORED["machine"])
    # A tool recorded in one run only belongs to variants the other did not run: not a difference.
    ta, tb = {}, {}
    _flat("", a.get("tools") or {}, ta)
    _flat("", b.get("tools") or {}, tb)
    shared = set(ta) & set(tb)
    out += _section_diffs("tool", {k: v for k, v in ta.items() if k in shared},
                          {k: v for k, v in tb.items() if k in shared}, IGNORED["tools"])
    out += _section_diffs("setting", a.get("settings"), b.get("settings"), IGNORED["settings"])
    git_a, git_b = dict(a.get("git") or {}), dict(b.get("git") or {})
    for g in (git_a, git_b):  # the changed paths matter only in a dirty tree
        if not g.get("dirty"):
            g.pop("changed", None)
    out += _section_diffs("git", git_a, git_b, IGNORED["git"])
    if a.get("status") != b.get("status"):
        out.append(Difference("run status", _show(a.get("status")), _show(b.get("status"))))
    for name in a["variants"]:
        if name not in b["variants"]:
            continue
        sa, sb = a["variants"][name].get("status"), b["variants"][name].get("status")
        if sa != sb:
            out.append(Difference(f"variant {name} status", _show(sa), _show(sb)))
        out += _section_diffs(f"variant {name} manifest", _manifest(a, name), _manifest(b, name),
                              absent="(not set)")
    return out


# ---------------------------------------------------------------- the figures


def _values(cr, *path) -> list[float]:
    out = []
    for r in cr.valid_runs:
        for key in path:
            r = r.get(key) if isinstance(r, dict) else None
        if r is not None:
            out.append(r)
    return out


def _change(metric, ca, cb, path, higher_is_better) -> Change | None:
    va, vb = _values(ca, *path), _values(cb, *path)
    sa, sb = ca.summary(*path), cb.summary(*path)
    if not va or not vb or not sa["median"] or not sb["median"]:
        return None
    return Change(metric, sa, sb, judge(va, vb), higher_is_better)


def compare(a: dict, b: dict) -> Comparison:
    ca, cb = by_case(a), by_case(b)
    rows = []
    for key, ra in ca.items():
        rb = cb.get(key)
        if rb is None:
            continue
        row = Row(*key)
        row.invalid_in = [side for side, cr in (("[a]", ra), ("[b]", rb)) if not cr.valid]
        row.client_bound_in = [side for side, cr in (("[a]", ra), ("[b]", rb))
                               if cr.client_bound]
        if not row.invalid_in:
            row.rps = _change("req/s", ra, rb, ("rps",), True)
            row.cpu = _change("server µs/req", ra, rb, ("server", "us_per_request"), False)
        rows.append(row)
    names_a, names_b = {k[0] for k in ca}, {k[0] for k in cb}
    shared = names_a & names_b

    def only(x, y):
        return [" ".join(k) for k in x if k[0] in shared and k not in y]
    from harness import compare_latency  # it builds on this module's Change
    return Comparison(a, b, machine_differences(a, b), differences(a, b), rows,
                      sorted(names_a - names_b), sorted(names_b - names_a),
                      only(ca, cb), only(cb, ca), compare_latency.rows(a, b))


# ---------------------------------------------------------------- text


def run_line(tag: str, run: dict) -> str:
    git, m = run.get("git") or {}, run.get("machine") or {}
    commit = (git.get("commit") or UNKNOWN)[:10]
    dirty = {True: " (dirty)", False: "", None: " (dirty: unknown)"}[git.get("dirty")]
    load = m.get("loadavg_at_start")
    return (f"{tag} {run['stamp']}: commit {commit}{dirty}; {m.get('cpu_model') or UNKNOWN}, "
            f"{m.get('cpu_count') or UNKNOWN} CPUs; load average at start "
            f"{f'{load[0]:.2f}' if load else UNKNOWN}; status {run.get('status') or UNKNOWN}")


def busy_notes(c: Comparison) -> list[str]:
    """A run that started with the machine already busy: its figures carry that load."""
    out = []
    for tag, run in (("[a]", c.a), ("[b]", c.b)):
        m = run.get("machine") or {}
        load, cpus = m.get("loadavg_at_start"), m.get("cpu_count")
        if load and cpus and load[0] >= cpus:
            out.append(f"note: {tag} started with a load average of {load[0]:.2f} on {cpus} "
                       "CPUs: other work was running, and its figures carry that load")
    return out


def machine_warning(c: Comparison) -> list[str]:
    if not c.machine:
        return []
    bar = "!" * 78
    lines = [bar, "!! WARNING: THE TWO RUNS WERE MADE ON DIFFERENT MACHINES"]
    lines += [f"!!   {d.what}: [a] {d.a}  [b] {d.b}" for d in c.machine]
    lines += ["!! Every ratio below compares the machines as much as the software.",
              "!! Run both on one machine to compare the software.", bar]
    return lines


def method_note() -> str:
    return (f"Significance, from the valid rounds of each run: where both runs have enough rounds "
            f"for it to reach p < {ALPHA} (4 and 4, 3 and 5, 2 and 8, ...), a two-sided exact "
            f"Mann-Whitney U test, significant when p < {ALPHA}; with fewer rounds, significant "
            f"only when the rounds' [min, max] ranges do not overlap (a weak test: run with "
            f"--repeats 5 or more for a real one); with one round there is no measure of the "
            f"noise and nothing is called significant. {CLIENT_BOUND_MARK}: client-bound (the "
            f"load generator was the limit, so req/s is the client's ceiling; compare server "
            f"µs/req).")


def _fig(summary: dict, fmt, bound: bool) -> str:
    return fmt(summary["median"]) + (CLIENT_BOUND_MARK if bound else "")


def table_rows(c: Comparison) -> list[list[str]]:
    """Case, [a], [b], change, significance for req/s, then the same for server µs/req."""
    out = []
    for row in c.rows:
        cells = [row.label]
        if row.invalid_in:
            cells += [f"invalid in {' and '.join(row.invalid_in)}: not compared"] + [""] * 7
            out.append(cells)
            continue
        for ch, fmt in ((row.rps, fmt_count), (row.cpu, fmt_num)):
            if ch is None:
                cells += ["–", "–", "not recorded", ""]
                continue
            bound = ch.metric == "req/s"
            cells += [_fig(ch.a, fmt, bound and "[a]" in row.client_bound_in),
                      _fig(ch.b, fmt, bound and "[b]" in row.client_bound_in),
                      ch.words, ch.verdict.label]
        out.append(cells)
    return out


TABLE_HEADER = ["case", "[a] req/s", "[b] req/s", "[b] vs [a]", "", "[a] µs/req", "[b] µs/req",
                "server CPU [b] vs [a]", ""]


def _aligned(header: list[str], rows: list[list[str]]) -> list[str]:
    width = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    right = {1, 2, 5, 6}
    lines = []
    for r in [header] + rows:
        cells = [r[i].rjust(width[i]) if i in right else r[i].ljust(width[i])
                 for i in range(len(r))]
        lines.append("  ".join(cells).rstrip())
    return lines


def render_text(c: Comparison) -> list[str]:
    lines = [run_line("[a]", c.a), run_line("[b]", c.b), ""]
    lines += machine_warning(c)
    if c.machine:
        lines.append("")
    notes = busy_notes(c)
    lines += notes + ([""] if notes else [])
    if c.differences:
        lines.append("What else differs between the runs (each can move a figure):")
        width = max(len(d.what) for d in c.differences)
        lines += [f"  {d.what.ljust(width)}  [a] {d.a}  [b] {d.b}" for d in c.differences]
    else:
        lines.append("Same tools, settings, commit and variant manifests in both runs.")
    lines.append("Not recorded, so not compared: " + "; ".join(NOT_RECORDED) + ".")
    lines.append("")
    rows = table_rows(c)
    if rows:
        lines += _aligned(TABLE_HEADER, rows)
        from harness import compare_latency
        lines += compare_latency.render(c.latency)
        lines += ["", method_note()]
        changes = [ch for r in c.rows for ch in (r.rps, r.cpu) if ch and ch.verdict.significant]
        changes += [r.change for r in c.latency if r.change and r.change.verdict.significant]
        better = sum(ch.worse_pct < 0 for ch in changes)
        lines.append(f"{len(changes)} significant change(s) in {len(rows)} case(s): {better} for "
                     f"the better, {len(changes) - better} for the worse.")
    else:
        lines.append("nothing to compare: the runs share no variant and scenario")
    if c.only_a:
        lines.append(f"only in [a]: {', '.join(c.only_a)}")
    if c.only_b:
        lines.append(f"only in [b]: {', '.join(c.only_b)}")
    if c.cases_only_a:
        lines.append(f"cases only in [a]: {', '.join(c.cases_only_a)}")
    if c.cases_only_b:
        lines.append(f"cases only in [b]: {', '.join(c.cases_only_b)}")
    return lines


def compare_runs(a: dict, b: dict) -> list[str]:
    return render_text(compare(a, b))
