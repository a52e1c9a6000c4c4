"""Column charts as self-contained HTML (plotly.js inlined): the vmtp-genchart page and the
charts of the pytest-html report.

Why plotly: it is maintained (plotly.py and plotly.js release monthly), its wheel carries
plotly.js, so one HTML file holds everything and opens with no network (no CDN); the bars are
SVG elements a browser test can count; hovering a bar gives the exact figure and the row's
name, and clicking a run in the legend hides it, which is how a before/after pair is read. The
price is size: plotly.js is about 4.8 MB in each page (1.5 MB gzipped); pygal (static SVG, its
tooltips need a script from the web) and matplotlib (static SVG, numpy and a font stack to
install) give smaller pages but no values under the mouse. plotly is imported only here, and
this module only when a chart is written, so that the plugin stays cheap to load.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pytest_vmtp.report import run_info
from pytest_vmtp.report.chart_data import Chart, Run, ScaleChart, charts, row_names, unique_labels

CHART_HEIGHT_PX = 380
# The page's own look; plotly's SVG carries its own styles.
STYLE = """
.vmtp-charts { font-family: Helvetica, Arial, sans-serif; color: #333; }
.vmtp-charts .vmtp-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(520px, 1fr));
  gap: 8px 16px; }
.vmtp-charts .vmtp-chart { min-width: 0; }
.vmtp-charts table { border-collapse: collapse; margin: 4px 0 14px 0; font-size: 12px; }
.vmtp-charts th, .vmtp-charts td { border: 1px solid #ddd; padding: 3px 6px; text-align: left;
  vertical-align: top; }
.vmtp-charts .swatch { display: inline-block; width: 12px; height: 12px; margin-right: 6px;
  vertical-align: middle; }
.vmtp-charts .vmtp-empty { color: #777; font-style: italic; }
"""


def palette() -> list[str]:
    """One colour per run, in order: the first two (blue, red) tell before from after."""
    from plotly.colors import qualitative

    return list(qualitative.Plotly)


def colour(index: int) -> str:
    colours = palette()
    return colours[index % len(colours)]


def _figure(chart: Chart) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for index, series in enumerate(chart.series):
        bars = series.bars
        has_range = any(b.low is not None for b in bars)
        error_y = None
        if has_range:
            error_y = {"type": "data", "symmetric": False, "visible": True, "thickness": 1.2,
                       "array": [(b.high - b.value) if b.high is not None else 0 for b in bars],
                       "arrayminus": [(b.value - b.low) if b.low is not None else 0 for b in bars]}
        fig.add_trace(go.Bar(
            name=series.label, x=[b.category for b in bars], y=[b.value for b in bars],
            marker_color=colour(index), error_y=error_y, customdata=[[b.hover] for b in bars],
            hovertemplate="%{x} %{customdata[0]}<br>%{y:.4g}<extra>" + html.escape(series.label) + "</extra>",
        ))
    fig.update_layout(
        title={"text": chart.title}, barmode="group", height=CHART_HEIGHT_PX, template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 60}, legend={"orientation": "h", "y": 1.12, "x": 1,
                                                             "xanchor": "right"},
        xaxis={"type": "category", "categoryorder": "array", "categoryarray": chart.categories},
        yaxis={"title": {"text": chart.axis}, "rangemode": "tozero"},
    )
    return fig


def _scale_figure(chart: ScaleChart) -> Any:
    import plotly.graph_objects as go

    fig = go.Figure()
    for index, line in enumerate(chart.lines):
        points = line.points
        error_y = None
        if line.per_pair:
            error_y = {"type": "data", "symmetric": False, "visible": True, "thickness": 1.2,
                       "array": [(p.high or p.value) - p.value for p in points],
                       "arrayminus": [p.value - (p.low if p.low is not None else p.value) for p in points]}
        fig.add_trace(go.Scatter(
            name=line.label, x=[p.pairs for p in points], y=[p.value for p in points], mode="lines+markers",
            line={"color": colour(index // 2), "dash": "dot" if line.per_pair else "solid"}, error_y=error_y,
            hovertemplate="%{x} pairs: %{y:.4g}<extra>" + html.escape(line.label) + "</extra>",
        ))
    fig.update_layout(
        title={"text": chart.title}, height=CHART_HEIGHT_PX, template="plotly_white",
        margin={"l": 60, "r": 20, "t": 60, "b": 60}, legend={"orientation": "h", "y": -0.2},
        xaxis={"title": {"text": "pairs at once"}, "tickmode": "array",
               "tickvals": sorted({p.pairs for line in chart.lines for p in line.points})},
        yaxis={"title": {"text": chart.axis}, "rangemode": "tozero"},
    )
    return fig


def scale_divs(chart_list: Sequence[ScaleChart], id_prefix: str = "vmtp-chart") -> str:
    """Scale mode's progressions, one <div> per chart (plotly.js must be on the page)."""
    import plotly.io as pio

    config = {"displaylogo": False, "modeBarButtonsToRemove": ["sendDataToCloud"]}
    return '<div class="vmtp-grid">' + "\n".join(
        f'<div class="vmtp-chart" data-chart="{c.key}" data-points="{c.point_count}">'
        + pio.to_html(_scale_figure(c), full_html=False, include_plotlyjs=False, div_id=f"{id_prefix}-{c.key}",
                      config=config, validate=True)
        + "</div>"
        for c in chart_list
    ) + "</div>"


def chart_divs(chart_list: Sequence[Chart], id_prefix: str = "vmtp-chart") -> str:
    """One <div> per chart, each drawing itself with plotly.js (which must be on the page
    first: plotly_script)."""
    import plotly.io as pio

    # Not "responsive": a chart redrawn on every resize can be caught half drawn by a print or a screenshot.
    config = {"displaylogo": False, "modeBarButtonsToRemove": ["sendDataToCloud"]}
    return '<div class="vmtp-grid">' + "\n".join(
        f'<div class="vmtp-chart" data-chart="{c.key}" data-bars="{c.bar_count}">'
        + pio.to_html(_figure(c), full_html=False, include_plotlyjs=False, div_id=f"{id_prefix}-{c.key}",
                      config=config, validate=True)
        + "</div>"
        for c in chart_list
    ) + "</div>"


def plotly_script() -> str:
    """plotly.js itself, inline: the page needs nothing from the network."""
    from plotly.offline import get_plotlyjs

    return f'<script type="text/javascript">{get_plotlyjs()}</script>'


def _table(lines: Sequence[tuple[str, str]]) -> str:
    return "<table>" + "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in lines) + "</table>"


def _by_field(per_run: list[list[tuple[str, str]]]) -> list[tuple[str, list[str]]]:
    """Fields in first-seen order, with each run's value ('' where a run has none)."""
    fields: dict[str, list[str]] = {}
    for i, lines in enumerate(per_run):
        for key, value in lines:
            fields.setdefault(key, [""] * len(per_run))[i] = value
    return list(fields.items())


def _compare_table(labels: list[str], per_run: list[list[tuple[str, str]]], css: str) -> str:
    head = "".join(f'<th><span class="swatch" style="background:{colour(i)}"></span>{html.escape(label)}</th>'
                   for i, label in enumerate(labels))
    body = "".join(
        f"<tr><th>{html.escape(key)}</th>" + "".join(f"<td>{html.escape(v)}</td>" for v in values) + "</tr>"
        for key, values in _by_field(per_run))
    return f'<table class="{css}"><tr><th></th>{head}</tr>{body}</table>'


def runs_html(runs: Sequence[Run], cloud: str | None = None) -> str:
    """The runs side by side, one column each under a swatch of its colour: the headline fields,
    then every other field of the documents' metadata, folded away."""
    labels = unique_labels(r.label for r in runs)
    headline = _compare_table(labels, [run_info.headline(r.doc, cloud) for r in runs], "vmtp-runs")
    extra = [run_info.metadata_lines(r.doc) for r in runs]
    count = len(_by_field(extra))
    folded = (f"<details><summary>all metadata ({count} field{'s' if count != 1 else ''})</summary>"
              f"{_compare_table(labels, extra, 'vmtp-metadata')}</details>") if count else ""
    return headline + folded


def rows_html(chart_list: Sequence[Chart]) -> str:
    """The rows the charts show, id and VMTP's title (the x axis shows ids only)."""
    names = row_names()
    shown = sorted({c.split(" ")[0] for chart in chart_list for c in chart.categories},
                   key=lambda s: tuple(int(p) if p.isdigit() else 0 for p in s.split(".")))
    return _table([(sid, names.get(sid, "")) for sid in shown])


def charts_html(runs: Sequence[Run], id_prefix: str = "vmtp-chart") -> str:
    """The charts of these runs (no plotly.js, no metadata): a fragment for a page that has both."""
    chart_list = charts(list(runs))
    if not chart_list:
        return '<p class="vmtp-empty">No measured row to chart.</p>'
    return chart_divs(chart_list, id_prefix)


def page(runs: Sequence[Run], title: str | None = None, cloud: str | None = None,
         chart_list: list[Chart] | None = None) -> str:
    """The whole vmtp-genchart page: charts, then each run's metadata, then the rows' names."""
    chart_list = charts(list(runs)) if chart_list is None else chart_list
    title = title or "VMTP charts: " + " vs ".join(unique_labels(r.label for r in runs))
    body = chart_divs(chart_list) if chart_list else '<p class="vmtp-empty">No measured row to chart.</p>'
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style>{plotly_script()}</head>\n"
        f'<body><div class="vmtp-charts"><h1>{html.escape(title)}</h1>\n{body}\n'
        f"<h2>Runs</h2>\n{runs_html(runs, cloud)}\n"
        + (f"<h2>Rows</h2>\n{rows_html(chart_list)}\n" if chart_list else "")
        + "</div></body></html>\n"
    )


def write_page(path: Path, runs: Sequence[Run], title: str | None = None) -> int:
    """Write the page; returns the number of bars drawn (what the command reports)."""
    chart_list = charts(list(runs))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(runs, title, chart_list=chart_list), encoding="utf-8")
    return sum(c.bar_count for c in chart_list)
