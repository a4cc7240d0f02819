"""Inspection-ready documents (SOP §8; 21 CFR 11.10(b), 11.50(b); Annex 11 §8): PDFs rendered with
WeasyPrint from the templates in ``templates/pdf/``, in zh-CN or English, with a CJK font.

Every page carries the record number and version, page x of y, the print time with its offset and the
controlled-copy marking; every signature is manifested. The URL fetcher lets a document reach only the
application's own static files: never ``file:``, never another site.
"""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import Markup

STATIC_SCHEME = "gmp-static:"
STATIC_ROOT = Path(__file__).parent / "static"


def make_fetcher():
    """A URL fetcher that serves ``gmp-static:/css/pdf.css`` from the package's static folder and
    refuses everything else. (WeasyPrint is imported here, when a document is made, so the app starts
    on a machine still missing Pango.)"""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AppStaticFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols=())
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith(STATIC_SCHEME):
                relative = url[len(STATIC_SCHEME):].lstrip("/")
                path = (STATIC_ROOT / relative).resolve()
                if path.is_file() and STATIC_ROOT.resolve() in path.parents:
                    return URLFetcherResponse(url, body=path.read_bytes(),
                                              headers={"Content-Type": mimetypes.guess_type(path.name)[0] or
                                                       "application/octet-stream"})
            self.refused.append(url)
            raise ValueError(f"refused to fetch {url}: documents use only the application's own static files")

    return AppStaticFetcher()


@dataclass(frozen=True)
class Rendered:
    pdf: bytes
    #: URLs the document asked for and did not get (none in a correct template)
    refused: list[str] = field(default_factory=list)


def print_time_text(moment: datetime, site_timezone: str) -> str:
    local = moment.astimezone(ZoneInfo(site_timezone))
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"


def css_string(text) -> Markup:
    """A CSS string literal for the page margins, safe inside ``<style>``: quotes and backslashes
    escaped, ``<`` and ``>`` as CSS escapes (no way out of the style element), on one line."""
    escaped = str(text).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ").replace(">", "\\3e ")
    return Markup('"' + " ".join(escaped.split()) + '"')


def render_pdf(template: str, context: dict, *, locale: str) -> Rendered:
    """Render ``templates/pdf/<template>`` in ``locale`` (needs a Flask app context)."""
    from flask import render_template
    from flask_babel import force_locale

    with force_locale(locale):
        html = render_template(f"pdf/{template}", css_string=css_string, **context)
    from weasyprint import HTML

    fetcher = make_fetcher()
    pdf = HTML(string=html, base_url=f"{STATIC_SCHEME}/", url_fetcher=fetcher).write_pdf()
    return Rendered(pdf, fetcher.refused)
