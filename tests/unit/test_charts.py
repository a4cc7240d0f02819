"""The server-drawn charts (SOP §7 review; DESIGN §5 UI): deterministic SVG, text kept as text so Chinese
labels render with the CJK font, colour-blind-safe colours; and the PDF fetcher that takes them and
nothing else from outside the application's static files (no database, no Flask)."""
import pytest

from gmp_complaints.charts import OKABE_ITO, data_uri, pareto_svg, periods_svg, u_chart_svg


def test_the_same_figures_draw_the_same_bytes_with_text_as_text():
    one = pareto_svg("按类型的投诉", ["内包装材料缺陷", "其他"], [3, 1], "累计占比")
    two = pareto_svg("按类型的投诉", ["内包装材料缺陷", "其他"], [3, 1], "累计占比")
    assert one == two and one.startswith("<svg")
    assert "内包装材料缺陷" in one and "Noto Sans CJK" in one  # text, in the CJK font
    assert OKABE_ITO[0].lower() in one.lower()
    assert "<dc:date>" not in one  # no drawing time in the metadata


def test_line_charts_and_the_u_chart_take_gaps():
    svg = periods_svg("各期间投诉数", ["Q1", "Q2", "Q3"], {"投诉": [1, None, 3]}, "投诉")
    assert svg.startswith("<svg")
    names = {"rate": "rate", "centre": "centre", "alert": "alert", "action": "action", "unit": "per million"}
    chart = u_chart_svg("u", ["2026-Q3", "2026-Q4"], [None, 12.0], [None, 10.0], [None, 16.3], [None, 19.5], names)
    assert "alert" in chart and "action" in chart


def test_the_pdf_fetcher_takes_the_applications_charts_and_refuses_the_rest():
    from gmp_complaints.documents import make_fetcher

    fetcher = make_fetcher()
    svg = periods_svg("t", ["a"], {"s": [1]}, "y")
    response = fetcher.fetch(data_uri(svg))
    assert response.content_type == "image/svg+xml"
    assert response.read() == svg.encode("utf-8")
    for url in ("https://example.org/x.svg", "file:///etc/passwd", "data:text/html;base64,PGI+"):
        with pytest.raises(ValueError):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 3
