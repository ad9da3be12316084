"""One self-contained HTML page per output folder (executive page first, figures embedded,
the scenario as run) and, on request, a PDF of the same."""

from __future__ import annotations

import html
import os
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.backends.backend_pdf import PdfPages

from sim import __version__, executive, plots, store
from sim.report.figures import (
    Figure,
    compare_figures,
    optimize_figures,
    render,
    run_figures,
    stress_figures,
    sweep_figures,
)
from sim.report.tables import (
    compare_tables,
    headline_html,
    optimize_tables,
    run_tables,
    stress_tables,
    sweep_tables,
)
from sim.scenario import read_toml

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
color:#222;padding:0 1em}
h1{font-size:1.8em;margin-bottom:.2em} h2{margin-top:1.6em;border-bottom:1px solid #ddd}
figure{margin:1.2em 0} figure img{max-width:100%} figcaption{color:#555;font-size:.95em}
table{border-collapse:collapse;font-size:.9em;margin:1em 0}
td,th{padding:.25em .7em;text-align:right;
border-bottom:1px solid #eee} td:first-child,th:first-child{text-align:left}
pre{background:#f7f7f7;padding:1em;overflow-x:auto;font-size:.85em} .rec{font-size:1.1em}
ul.headline{font-size:1.1em;line-height:1.6}
section.exec{border:1px solid #ddd;border-radius:6px;padding:.4em 1.2em 1em;margin:1em 0 2em}
section.exec h2{border:none;margin-top:.6em} ul.decision{font-size:1.05em;line-height:1.6}
table.numbers td{font-size:1.05em;text-align:left;padding:.35em 1em .35em 0}
table.numbers td.big{font-weight:bold;font-size:1.2em} p.plain{font-size:1.1em;line-height:1.5}
p.note{color:#777}
@page{margin:14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:10.5pt}
section.exec{page-break-after:always;border:none;padding:0}
figure{page-break-inside:avoid;margin:.4em 0} figure img{max-height:15cm}
h2{page-break-after:avoid} table{page-break-inside:auto} tr{page-break-inside:avoid}
pre{white-space:pre-wrap;font-size:7.5pt;background:none;border:1px solid #ccc}}
"""


def executive_of(directory: Path) -> executive.Executive:
    """The executive page of a run, sweep, stress or optimize directory."""
    directory = Path(directory)
    kind = store.kind_of(directory)
    raw = read_toml(directory / "scenario.toml")
    summary = store.read_json(directory / "summary.json")
    if kind == "run":
        return executive.for_run(raw, pd.read_parquet(directory / "replications.parquet"))
    if kind == "sweep":
        return executive.for_sweep(raw, summary, pd.read_parquet(directory / "points.parquet"))
    if kind == "optimize":
        return executive.for_optimize(raw, summary)
    if kind == "compare":
        return executive.for_compare(raw, summary)
    cases = pd.read_parquet(directory / "cases.parquet")
    base = cases[cases["case"] == "baseline"]
    return executive.for_run(raw, base, stress=summary)


def _executive_html(ex: executive.Executive) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k.label)}</td><td class='big'>{html.escape(k.value)}</td>"
        f"<td>{html.escape(k.range)}</td></tr>"
        for k in ex.numbers
    )
    notes = "".join(f"<p class='note'>{html.escape(t)}</p>" for t in ex.notes)
    return (
        "<section class='exec'>"
        f"<h2>{html.escape(ex.title)}</h2>"
        "<ul class='decision'>"
        + "".join(f"<li>{html.escape(d)}</li>" for d in ex.decision)
        + "</ul>"
        f"<table class='numbers'><tbody>{rows}</tbody></table>"
        + "".join(f"<p class='plain'>{html.escape(t)}</p>" for t in ex.sentences)
        + notes
        + "</section>"
    )


def write_report(directory: Path, pdf: bool = False, paper: str | None = None) -> Path:
    """Figures and ``report.html`` (with ``pdf``: also ``report.pdf``) for a run, sweep or
    stress directory; returns the page."""
    directory = Path(directory)
    kind = store.kind_of(directory)
    figs = {
        "run": run_figures,
        "sweep": sweep_figures,
        "stress": stress_figures,
        "compare": compare_figures,
        "optimize": optimize_figures,
    }[kind](directory)
    tables = {
        "run": run_tables,
        "sweep": sweep_tables,
        "stress": stress_tables,
        "compare": compare_tables,
        "optimize": optimize_tables,
    }[kind](directory)
    ex = executive_of(directory)
    store.refuse_foreign(directory / "report.html", "report")
    rendered = render(figs, directory / "figures")
    raw = read_toml(directory / "scenario.toml")
    meta = raw.get("scenario", {})
    name = html.escape(str(meta.get("name", directory.name)))
    desc = html.escape(str(meta.get("description", "")))
    body = [f"<h1>capsim {kind}: {name}</h1>", f"<p>{desc}</p>", _executive_html(ex)]
    if kind == "run":
        body.append(headline_html(store.read_json(directory / "summary.json")["metrics"]))
    for stem, caption, b64 in rendered:
        body.append(
            f"<figure><img alt='{html.escape(stem)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    body.append("<h2>Key numbers</h2>" + tables)
    scen = (directory / "scenario.toml").read_text()
    body.append(
        "<h2>Scenario as run</h2><details><summary>the scenario file, as run (overrides "
        f"applied)</summary><pre>{html.escape(scen)}</pre></details>"
    )
    body.append(
        f"<p style='color:#888'>Made by capsim {html.escape(__version__)} "
        f"from {html.escape(str(directory))}.</p>"
    )
    page = directory / "report.html"
    store.refuse_foreign(page, "report")
    if pdf:
        store.refuse_foreign(directory / "report.pdf", "report")
    title = f"capsim {kind}: {meta.get('name', directory.name)}"
    store.write_text(page, html_page(title, body, paper or default_paper()))
    if pdf:
        write_pdf(
            directory / "report.pdf", f"capsim {kind}: {meta.get('name', '')}", ex, figs, paper
        )
    return page


def _wrap(text: str, width: int = 95) -> str:
    return "\n".join(textwrap.wrap(text, width))


PAPERS = {"a4": (11.69, 8.27), "letter": (11.0, 8.5)}
"""Landscape page sizes [inches]."""


def default_paper() -> str:
    """``letter`` where the locale's country uses it (US, Canada, Mexico, the Philippines,
    Chile, Colombia), else ``a4``: from LC_PAPER, LC_ALL or LANG."""
    for var in ("LC_PAPER", "LC_ALL", "LANG"):
        value = os.environ.get(var, "")
        if value:
            country = value.split(".")[0].split("_")[-1].upper()
            return "letter" if country in ("US", "CA", "MX", "PH", "CL", "CO") else "a4"
    return "a4"


def write_pdf(
    path: Path,
    title: str,
    ex: executive.Executive,
    figs: list[Figure],
    paper: str | None = None,
) -> None:
    """A printable report: the executive page, then one figure per page, every page the
    same paper size (``a4`` or ``letter`` landscape; default from the locale), with each
    figure's caption beneath it."""
    size = PAPERS[paper or default_paper()]

    def write(tmp: Path) -> None:
        # the house style saves screen figures cropped to their contents; a printed page
        # keeps its paper size
        with (
            plots.style(),
            plt.rc_context({"savefig.bbox": "standard"}),
            PdfPages(tmp, metadata={"Creator": "capsim"}) as pdf,
        ):
            page = plt.figure(figsize=size)
            y = 0.93
            page.text(0.06, y, title, fontsize=20, fontweight="bold", parse_math=False)
            y -= 0.06
            page.text(
                0.06, y, ex.title, fontsize=15, fontweight="bold", color="#444444", parse_math=False
            )
            y -= 0.05
            for d in ex.decision:
                page.text(0.08, y, "• " + d, fontsize=11.5, parse_math=False)
                y -= 0.035
            y -= 0.02
            for k in ex.numbers:
                page.text(0.08, y, k.label, fontsize=12, parse_math=False)
                page.text(0.45, y, k.value, fontsize=13, fontweight="bold", parse_math=False)
                page.text(0.62, y, k.range, fontsize=11, color="#555555", parse_math=False)
                y -= 0.04
            y -= 0.02
            for t in [*ex.sentences, *ex.notes]:
                wrapped = _wrap(t)
                page.text(0.06, y, wrapped, fontsize=12, va="top", parse_math=False)
                y -= 0.035 * (wrapped.count("\n") + 1) + 0.015
            pdf.savefig(page)
            plt.close(page)
            for _stem, caption, draw in figs:
                fig, ax = plt.subplots(figsize=size)
                draw(ax)
                fig.tight_layout(rect=(0, 0.08, 1, 1))
                fig.text(
                    0.04, 0.03, _wrap(caption, 130), fontsize=10, color="#555555", parse_math=False
                )
                pdf.savefig(fig)
                plt.close(fig)

    store.atomic_write(path, write)


def html_page(title: str, body: list[str], paper: str = "a4") -> str:
    """A whole HTML page: the house style, the paper size for print, and the body."""
    size = "A4" if paper == "a4" else "letter"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}@page{{size:{size}}}</style>"
        "</head><body>" + "\n".join(body) + "</body></html>"
    )
