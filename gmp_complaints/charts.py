"""Charts for the trend page and the review PDF, drawn once on the server as SVG with matplotlib, so the
page and the PDF show the same chart.

Text stays text in the SVG (``svg.fonttype = none``) and names the CJK font first, so Chinese labels
render with the page's and the PDF's font; the colours are the Okabe–Ito palette (distinguishable with
the common colour-vision deficiencies and in greyscale print, helped by markers and line styles). The
output is deterministic: no dates in the metadata and a fixed id salt, so the same figures give the same
bytes (a review re-run for the same quarter reproduces its charts).
"""
from __future__ import annotations

import io
from collections.abc import Sequence

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
FONT_FAMILY = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans", "DejaVu Sans", "sans-serif"]


STYLE = {"svg.fonttype": "none", "svg.hashsalt": "gmp-complaints", "font.family": "sans-serif",
         "font.sans-serif": FONT_FAMILY, "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}


def _figure(width: float = 7.0, height: float = 3.2):
    """A figure of its own (no pyplot state: safe in a threaded server), in the house style."""
    import matplotlib
    from matplotlib.figure import Figure

    context = matplotlib.rc_context({**STYLE, "axes.prop_cycle": matplotlib.cycler(color=OKABE_ITO)})
    context.__enter__()
    figure = Figure(figsize=(width, height))
    return context, figure, figure.subplots()


def _svg(context, figure) -> str:
    buffer = io.StringIO()
    try:
        figure.tight_layout()
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    finally:
        context.__exit__(None, None, None)
    text = buffer.getvalue()
    # The XML prologue and DOCTYPE do not belong inside an HTML page.
    return text[text.index("<svg"):]


def pareto_svg(title: str, labels: Sequence[str], counts: Sequence[int], cumulative_label: str) -> str:
    """Bars by count, largest first, with the cumulative share as a line (the Pareto of complaint types)."""
    context, figure, axes = _figure()
    pairs = sorted(zip(labels, counts, strict=True), key=lambda pair: -pair[1])
    names, values = [p[0] for p in pairs], [p[1] for p in pairs]
    total = sum(values) or 1
    axes.bar(range(len(values)), values, color=OKABE_ITO[0])
    axes.set_xticks(range(len(names)), names, rotation=20, ha="right")
    axes.set_title(title)
    axes.yaxis.get_major_locator().set_params(integer=True)
    share = axes.twinx()
    running, shares = 0, []
    for value in values:
        running += value
        shares.append(100 * running / total)
    share.plot(range(len(values)), shares, color=OKABE_ITO[3], marker="o", linestyle="--", label=cumulative_label)
    share.set_ylim(0, 105)
    share.set_ylabel("%")
    share.spines["top"].set_visible(False)
    share.legend(loc="lower right", frameon=False)
    return _svg(context, figure)


def periods_svg(title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], y_label: str) -> str:
    """One line per series over consecutive periods (oldest first); a missing value leaves a gap."""
    context, figure, axes = _figure()
    markers, styles = ("o", "s", "^", "D", "v", "P"), ("-", "--", "-.", ":")
    for index, (name, values) in enumerate(series.items()):
        axes.plot(range(len(labels)), [float("nan") if v is None else v for v in values], label=name,
                  marker=markers[index % len(markers)], linestyle=styles[index % len(styles)])
    axes.set_xticks(range(len(labels)), labels, rotation=15, ha="right")
    axes.set_ylabel(y_label)
    axes.set_title(title)
    axes.set_ylim(bottom=0)
    if len(series) > 1:
        axes.legend(frameon=False, fontsize=8)
    return _svg(context, figure)


def u_chart_svg(title: str, labels: Sequence[str], rates: Sequence[float | None], centre: Sequence[float | None],
                alert: Sequence[float | None], action: Sequence[float | None], names: dict[str, str]) -> str:
    """The u-chart: the rate per quarter with the centre line and the alert and action limits."""
    context, figure, axes = _figure()
    x = range(len(labels))

    def values(seq):
        return [float("nan") if v is None else v for v in seq]

    axes.plot(x, values(rates), color=OKABE_ITO[0], marker="o", label=names["rate"])
    axes.plot(x, values(centre), color=OKABE_ITO[7], linestyle="-", linewidth=1, label=names["centre"])
    axes.plot(x, values(alert), color=OKABE_ITO[1], linestyle="--", linewidth=1, label=names["alert"])
    axes.plot(x, values(action), color=OKABE_ITO[3], linestyle=":", linewidth=1.5, label=names["action"])
    axes.set_xticks(list(x), labels)
    axes.set_title(title)
    axes.set_ylabel(names["unit"])
    axes.set_ylim(bottom=0)
    axes.legend(frameon=False, fontsize=8)
    return _svg(context, figure)


def data_uri(svg: str) -> str:
    """The chart as an image source: an inline ``<svg>`` would share its ids and styles with the page (and
    with the other charts), an image keeps each chart to itself, in the page and in WeasyPrint alike."""
    import base64

    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
