"""One self-contained HTML page per run, plots/<stamp>/report.html, and one per comparison.

A run's page holds every table of table.md (from report.tables()), every plot inline as SVG (read
from the files plot.py wrote), the machine, tools and settings, which measurements were
client-bound or invalid and why, and links to the raw tool output. No script and no fetch: the
file works when copied alone (the raw-output links then point nowhere, the rest stays).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path

from harness import compare, report, results
from harness.stats import by_case

PAGE_NAME = "report.html"

# What each plot shows, for the figure captions (the names are plot.py's files).
PLOT_CAPTIONS = {
    "lol_rps": "The reference's lolbenchmarks chart remade: ab req/s per variant, no keep-alive.",
    "keepalive_rps": "Keep-alive req/s against concurrency; bars are min–max over rounds, "
                     "circled points are client-bound.",
    "latency": "wrk's latency percentiles per variant, one panel per concurrency: closed loop "
               "(coordinated omission hides stalls), kept to compare with earlier runs.",
    "latency_vs_load": "Open-loop latency (hb-loadgen) against the offered rate: p99 solid, "
                       "p99.9 dashed, timed from when each request was due; a crossed marker "
                       "is a saturated step, where the ladder stopped.",
    "latency_spectrum": "The percentile spectrum at the highest rate every variant sustained: "
                        "each tick right is ten times rarer; a line that turns up early has a "
                        "tail.",
    "echo_rps": "POST /echo req/s against body size: what copying across the boundary costs.",
    "server_cpu": "Server CPU µs per request for every case: what tells fast servers apart when "
                  "the client is the limit.",
    "app_split": "Each WSGI variant's server CPU per request, case by case: the app timed alone "
                 "(hatched), then what the server adds, with the native floor (a C handler as "
                 "slow as the app) as a black tick.",
}

CSS = """
:root { --fg: #1d1d1f; --muted: #5b5b66; --line: #d7d7de; --band: #f4f4f8;
        --bad: #b3261e; --good: #1b6e2d; --warn-bg: #fff1ef; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1.2rem 1.5rem 3rem; max-width: 1180px; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line);
     padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
p.lead { color: var(--muted); margin: 0 0 .8rem; }
p.note, figcaption { color: var(--muted); font-size: .88rem; max-width: 60rem; }
nav { background: var(--band); padding: .5rem .8rem; border-radius: 6px; font-size: .9rem;
      display: flex; flex-wrap: wrap; gap: .2rem 1rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .88rem; margin: .3rem 0; }
th, td { border: 1px solid var(--line); padding: .22rem .5rem; vertical-align: top; }
th { background: var(--band); text-align: left; }
td { font-variant-numeric: tabular-nums; }
td.num { text-align: right; white-space: nowrap; }
td:first-child { white-space: nowrap; }
td.bound { background: #fff7e0; }
td.invalid, .worse { color: var(--bad); font-weight: 600; }
.better { color: var(--good); font-weight: 600; }
.noise { color: var(--muted); }
td.better, td.worse, td.noise { white-space: nowrap; }
table#comparison { font-size: .8rem; }
table.kv td:first-child { font-family: ui-monospace, monospace; white-space: nowrap; }
figure { margin: 1.2rem 0 1.8rem; }
figure svg { display: block; width: 100%; height: auto; }
.banner { border: 3px solid var(--bad); background: var(--warn-bg); color: var(--bad);
          padding: .7rem 1rem; border-radius: 6px; font-weight: 600; margin: 1rem 0; }
.banner ul { margin: .3rem 0 0; font-weight: 400; }
ul.problems li { margin: .15rem 0; }
details { margin: .3rem 0; }
summary { cursor: pointer; }
code { font-size: .9em; }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav, details { display: none; }
  h2 { break-after: avoid; }
  figure, table { break-inside: avoid; }
  .scroll { overflow: visible; }
  table { font-size: 7pt; }
  th, td { padding: .1rem .25rem; }
  td.num, td:first-child { white-space: normal; }  /* wide tables wrap rather than clip */
  a { color: inherit; text-decoration: none; }
}
"""

e = html.escape


def _document(title: str, body: list[str]) -> str:
    return "\n".join(["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
                      '<meta name="viewport" content="width=device-width, initial-scale=1">',
                      f"<title>{e(title)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
                      *body, "</body>", "</html>", ""])


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _cell(text: str) -> str:
    classes = []
    if re.match(r"^[\d.,]+[kMG]?(?![A-Za-z])", text) or text in ("–", "invalid"):
        classes.append("num")
    if report.CLIENT_BOUND_MARK in text:
        classes.append("bound")
    if text.startswith("invalid"):
        classes.append("invalid")
    attr = f' class="{" ".join(classes)}"' if classes else ""
    return f"<td{attr}>{e(text)}</td>"


def table_html(header: list[str], rows: list[list[str]], cls: str = "") -> str:
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    attr = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{attr}><thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n'
            "</tbody></table></div>")


def _kv(pairs) -> str:
    rows = "\n".join(f"<tr><td>{e(str(k))}</td><td>{e(_value(v))}</td></tr>" for k, v in pairs)
    return f'<div class="scroll"><table class="kv"><tbody>\n{rows}\n</tbody></table></div>'


def _value(v) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(_value(x) for x in v)
    if isinstance(v, float):
        return f"{v:.3g}"
    return str(v)


# ---------------------------------------------------------------- inline SVG


def inline_svg(path: Path, label: str) -> str:
    """An SVG file as an <svg> element for an HTML page (see svg_element)."""
    text = Path(path).read_text()
    if "<svg" not in text:
        return f"<p>{e(Path(path).name)} is not an SVG file: run the plot step again.</p>"
    return svg_element(text, _slug(Path(path).stem), label)


def svg_element(text: str, prefix: str, label: str) -> str:
    """SVG text made fit for inlining: no prolog or metadata, ids prefixed so that several plots
    on one page never share one, and sized by the page (viewBox kept)."""
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', text)
    text = re.sub(r'(\b(?:xlink:)?href)="#([^"]+)"', rf'\1="#{prefix}-\2"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}-\1)", text)

    def root(m):
        tag = m.group(0)
        width = re.search(r'\swidth="([^"]+)"', tag)
        tag = re.sub(r'\s(width|height)="[^"]*"', "", tag, count=2)
        style = f' style="max-width:{width.group(1)}"' if width else ""
        return tag[:-1] + f' role="img" aria-label="{e(label)}"{style}>'

    return re.sub(r"<svg\b[^>]*>", root, text, count=1)


def _figures(svgs: list[Path]) -> list[str]:
    out = []
    for path in svgs:
        caption = PLOT_CAPTIONS.get(path.stem, path.stem)
        out += [f'<figure id="plot-{_slug(path.stem)}">', inline_svg(path, caption),
                f"<figcaption>{e(caption)} (<a href=\"{e(path.name)}\">{e(path.name)}</a>)"
                "</figcaption>", "</figure>"]
    return out


# ---------------------------------------------------------------- a run's page


def _link(target: Path, page_dir: Path, text: str) -> str:
    """A relative link to a stored file; no dead link when the file is not there."""
    if not Path(target).is_file():
        return f"{e(text)} (not stored)"
    href = os.path.relpath(target, page_dir)
    return f'<a href="{e(href)}">{e(text)}</a>'


def client_bound(run: dict) -> list[str]:
    """One line per case whose load generator was the limit in at least one round."""
    out = []
    for (name, sc, c), cr in by_case(run).items():
        bound = [r for r in cr.valid_runs if (r.get("client") or {}).get("bound")]
        if bound:
            use = ", ".join(f"round {r['round']} {r['client'].get('utilisation') or 0:.0%}"
                            for r in bound)
            out.append(f"{name} {sc} {c}: client CPU {use}")
    return out


def _verify_rows(run: dict) -> list[list[str]]:
    rows = []
    for name, rec in run["variants"].items():
        failed = sorted({f"{c['name']} (round {v['round']}): {c['detail']}"
                         for v in rec.get("verify") or [] for c in v["checks"]
                         if c.get("ok") is False})
        checked = bool(rec.get("verify"))
        rows.append([name, rec.get("title") or "–", rec.get("status", "unknown"),
                     "; ".join(failed) if failed else ("all passed" if checked else "not run"),
                     "; ".join(rec.get("warnings") or []) or "–"])
    return rows


def _raw_links(run: dict, page_dir: Path) -> list[str]:
    run_dir = Path(run["_dir"])
    out = []
    by_variant: dict[str, list[dict]] = {}
    for m in run.get("measurements", []):
        by_variant.setdefault(m["variant"], []).append(m)
    for name in run["variants"]:
        links = [_link(run_dir / m["raw"], page_dir,
                       f"{m['scenario']} {m['case']} round {m['round']}")
                 for m in by_variant.get(name, []) if m.get("raw")]
        measured = {run_dir / m["raw"] for m in by_variant.get(name, []) if m.get("raw")}
        raw_dir = run_dir / results.RAW_DIR / name
        others = sorted(p for p in raw_dir.glob("*.txt") if p not in measured) \
            if raw_dir.is_dir() else []
        links += [_link(p, page_dir, p.name) for p in others]
        if links:
            out += [f"<details><summary>{e(name)} ({len(links)} files)</summary>",
                    "<p>" + " · ".join(links) + "</p></details>"]
    return out


def run_page(run: dict, page_dir: Path, svgs: list[Path]) -> str:
    s, m = run["settings"], run["machine"]
    tables = report.tables(run)
    sections = [(_slug(t.title), t.title) for t in tables]
    sections += [("plots", "Plots"), ("problems", "Client-bound and invalid"),
                 ("verify", "Variants"), ("machine", "Machine, tools, settings"),
                 ("raw", "Raw tool output")]
    body = [f"<h1>Benchmark run {e(run['stamp'])}</h1>",
            f'<p class="lead">{e(report.machine_line(run))}.<br>Server pinned: '
            f"{e(str(s.get('pinning')))}; {s['repeats']} interleaved round(s); "
            f"wrk -t{s['wrk_threads']} -d{s['duration']}s; status: {e(run['status'])}. Every "
            "figure is the median over rounds with (min–max) beside it.</p>"]
    if run["status"] != "complete":
        body.append(f'<div class="banner">This run did not complete ({e(run["status"])}): the '
                    "tables hold what finished.</div>")
    body.append("<nav>" + "".join(f'<a href="#{i}">{e(t)}</a>' for i, t in sections) + "</nav>")
    for t in tables:
        body += [f'<section id="{_slug(t.title)}">', f"<h2>{e(t.title)}</h2>",
                 table_html(t.header, t.rows)]
        if t.note:
            body.append(f'<p class="note">{e(t.note)}</p>')
        body.append("</section>")

    body += ['<section id="plots">', "<h2>Plots</h2>"]
    body += _figures(svgs) if svgs else ["<p>No valid measurement to plot.</p>"]
    body.append("</section>")

    body += ['<section id="problems">', "<h2>Client-bound and invalid</h2>"]
    groups = [("Client-bound: the load generator used at least "
               f"{s.get('client_bound_at', 0.9):.0%} of its CPU, so these measured the client's "
               "ceiling (server µs/req still compares the servers)", client_bound(run)),
              ("Invalid: left out of the medians", report.invalid_runs(run)),
              ("Variants not measured (or not to the end)",
               [f"{n}: {why}" for n, why in report.not_measured(run)]
               + report.broken_manifests(run))]
    for title, items in groups:
        body.append(f"<h3>{e(title)}</h3>")
        body.append('<ul class="problems">' + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"
                    if items else "<p>None.</p>")
    body.append("</section>")

    body += ['<section id="verify">', "<h2>Variants</h2>",
             table_html(["Variant", "Title", "Status", "Verification", "Warnings"],
                        _verify_rows(run)),
             '<p class="note">Every variant must answer the same bytes (servers/README.md); each '
             "round verifies before it loads.</p></section>"]

    git = run.get("git") or {}
    machine_keys = ("cpu_model", "cpu_count", "cpus_usable", "arch", "memory_mib", "kernel",
                    "hostname", "loadavg_at_start", "loadavg_at_end")
    tools = [(k, v) for k, v in (run.get("tools") or {}).items() if not isinstance(v, dict)]
    modules = (run.get("tools") or {}).get("python_modules") or {}
    tools += [(f"python module {k}", v) for k, v in modules.items()]
    body += ['<section id="machine">', "<h2>Machine, tools, settings</h2>", "<h3>Machine</h3>",
             _kv((k, m.get(k)) for k in machine_keys), "<h3>Tools</h3>", _kv(tools),
             "<h3>Source</h3>",
             _kv([("commit", git.get("commit")), ("branch", git.get("branch")),
                  ("dirty", git.get("dirty")), ("changed", git.get("changed") or "–")]),
             "<h3>Settings</h3>", _kv(s.items()),
             "<h3>Run</h3>",
             _kv([("command", " ".join(run.get("command") or [])),
                  ("started", run.get("started")), ("finished", run.get("finished")),
                  ("status", run.get("status"))]), "</section>"]

    run_dir = Path(run["_dir"])
    stored = _link(run_dir / results.RESULTS_FILE, page_dir, "results.json")
    table = _link(run_dir / results.TABLE_FILE, page_dir, "table.md")
    body += ['<section id="raw">', "<h2>Raw tool output</h2>",
             f"<p>Everything above is drawn from {stored} ({table}); what wrk and ab printed, "
             "and each server's output, per variant:</p>"]
    body += _raw_links(run, page_dir) + ["</section>"]
    return _document(f"Benchmark run {run['stamp']}", body)


def write_run_page(run: dict, out_dir: Path, svgs: list[Path]) -> Path:
    """plots/<stamp>/report.html beside the plots it inlines."""
    path = Path(out_dir) / PAGE_NAME
    path.write_text(run_page(run, Path(out_dir), [Path(p) for p in svgs]))
    return path


# ---------------------------------------------------------------- a comparison's page


def _change_cell(ch) -> str:
    if ch is None:
        return "<td>–</td><td></td>"
    if not ch.verdict.significant:
        cls = "noise"
    else:
        cls = "worse" if ch.worse_pct > 0 else "better"
    return (f'<td class="{cls}">{e(ch.words)}</td>'
            f'<td class="{cls}" title="{e(ch.verdict.why)}">{e(ch.verdict.label)}</td>')


def comparison_page(c: compare.Comparison, fail_above: float | None = None) -> str:
    a, b = c.a, c.b
    body = [f"<h1>Comparison: [a] {e(a['stamp'])} → [b] {e(b['stamp'])}</h1>",
            f'<p class="lead">{e(compare.run_line("[a]", a))}<br>'
            f"{e(compare.run_line('[b]', b))}</p>"]
    if c.machine:
        body += ['<div class="banner">Warning: the two runs were made on different machines. '
                 "Every ratio below compares the machines as much as the software; run both on "
                 "one machine to compare the software.<ul>"]
        body += [f"<li>{e(d.what)}: [a] {e(d.a)}, [b] {e(d.b)}</li>" for d in c.machine]
        body.append("</ul></div>")
    body += [f'<p class="note">{e(n)}</p>' for n in compare.busy_notes(c)]
    body.append("<h2>What else differs</h2>")
    if c.differences:
        body.append(table_html(["what", "[a]", "[b]"], [[d.what, d.a, d.b]
                                                        for d in c.differences], "kv"))
    else:
        body.append("<p>Same tools, settings, commit and variant manifests in both runs.</p>")
    body.append(f'<p class="note">Not recorded, so not compared: '
                f"{e('; '.join(compare.NOT_RECORDED))}.</p>")

    body.append("<h2>Figures</h2>")
    if c.rows:
        from harness.compare_plot import significant_changes_svg

        chart = significant_changes_svg(c)
        label = "Significant changes between the runs"
        body.append(f'<figure id="plot-changes">{svg_element(chart, "changes", label)}'
                    f"<figcaption>{e(label)}, in percent of [a]; the table below has every "
                    "case.</figcaption></figure>" if chart else
                    "<p>No change is significant: nothing to draw.</p>")
        head = "".join(f"<th>{e(h or 'significance')}</th>" for h in compare.TABLE_HEADER)
        rows = []
        for row, cells in zip(c.rows, compare.table_rows(c)):
            if row.invalid_in:
                rows.append(f"<tr><td>{e(row.label)}</td><td class=\"invalid\" colspan=\"8\">"
                            f"{e(cells[1])}</td></tr>")
                continue
            html_cells = [f"<td>{e(row.label)}</td>"]
            for i, ch in ((1, row.rps), (5, row.cpu)):
                html_cells += [_cell(cells[i]), _cell(cells[i + 1]), _change_cell(ch)]
            rows.append("<tr>" + "".join(html_cells) + "</tr>")
        body.append(f'<div class="scroll"><table id="comparison"><thead><tr>{head}</tr></thead>'
                    "<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>")
        if c.latency:
            from harness import compare_latency
            body += ["<h3>Latency (hb-loadgen, open loop)</h3>",
                     table_html(compare_latency.HEADER[:-1] + ["significance"],
                                [compare_latency.cells(r) for r in c.latency])]
        body.append(f'<p class="note">{e(compare.method_note())}</p>')
    else:
        body.append("<p>Nothing to compare: the runs share no variant and scenario.</p>")
    for what, side, names in (("Variants", "[a]", c.only_a), ("Variants", "[b]", c.only_b),
                              ("Cases", "[a]", c.cases_only_a), ("Cases", "[b]", c.cases_only_b)):
        if names:
            body.append(f"<p>{what} only in {side}: {e(', '.join(names))}</p>")
    if fail_above is not None:
        worse = c.regressions(fail_above)
        body.append(f"<h2>Significant regressions above {fail_above:g}%</h2>")
        body.append("<ul>" + "".join(f"<li>{e(r.label)} {e(ch.metric)}: {ch.worse_pct:.1f}% "
                                     "worse</li>" for r, ch in worse) + "</ul>"
                    if worse else "<p>None.</p>")
    return _document(f"Comparison {a['stamp']} → {b['stamp']}", body)


def write_comparison_page(c: compare.Comparison, path: Path,
                          fail_above: float | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(comparison_page(c, fail_above))
    return path
