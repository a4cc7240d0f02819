"""Inspection-ready documents (SOP §8; 21 CFR 11.10(b), 11.50(b); Annex 11 §8): PDFs rendered with
WeasyPrint from the templates in ``templates/pdf/``, in zh-CN or English, with a CJK font.

Every page carries the record number and version, page x of y, the print time with its offset and the
controlled-copy marking; every signature is manifested. The URL fetcher lets a document reach only the
application's own static files: never ``file:``, never another site.
"""
from __future__ import annotations

import base64
import functools
import mimetypes
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from markupsafe import Markup

STATIC_SCHEME = "gmp-static:"
STATIC_ROOT = Path(__file__).parent / "static"


#: the only inline data documents take: the SVG charts the application drew itself
CHART_PREFIX = "data:image/svg+xml;base64,"


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
            if url.startswith(CHART_PREFIX):  # a chart drawn on the server (gmp_complaints.charts.data_uri)
                return URLFetcherResponse(url, body=base64.b64decode(url[len(CHART_PREFIX):]),
                                          headers={"Content-Type": "image/svg+xml"})
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


#: events per part of a long audit trail; parts are laid out in parallel processes
EVENTS_PER_PART = 1250


def _html_to_pdf(html: str) -> tuple[bytes, list[str]]:
    """One part, in a worker process (module level so that a spawned process can import it): the PDF and
    the URLs it was refused."""
    from weasyprint import HTML

    fetcher = make_fetcher()
    return HTML(string=html, base_url=f"{STATIC_SCHEME}/", url_fetcher=fetcher).write_pdf(), fetcher.refused


def _form_xobject(writer, overlay):
    """A page of another PDF as a form XObject of ``writer``'s document, to be drawn over pages."""
    from pypdf.generic import DecodedStreamObject, NameObject

    form = DecodedStreamObject()
    form.set_data(overlay.get_contents().get_data())
    form.update({NameObject("/Type"): NameObject("/XObject"), NameObject("/Subtype"): NameObject("/Form"),
                 NameObject("/BBox"): overlay.mediabox,
                 NameObject("/Resources"): overlay["/Resources"].clone(writer)})
    return writer._add_object(form)


def _draw_over(writer, page, forms: dict) -> None:
    """Draw the form XObjects ``forms`` ({name: reference}) after ``page``'s own content. Only the page's
    dictionaries change: no content stream is parsed or rewritten, unlike ``merge_page``, which took
    seconds for a few hundred pages."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    # the pages of a WeasyPrint PDF share one resource dictionary: this page gets its own shallow copy
    resources = DictionaryObject(page["/Resources"].get_object())
    xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
    for name, form in forms.items():
        xobjects[NameObject(name)] = form
    resources[NameObject("/XObject")] = xobjects
    page[NameObject("/Resources")] = resources
    contents = page.raw_get("/Contents")
    own = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
    before, after = DecodedStreamObject(), DecodedStreamObject()
    before.set_data(b"q\n")
    after.set_data(("\nQ\n" + "".join(f"q {name} Do Q\n" for name in forms)).encode())
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(before), *own, writer._add_object(after)])


def render_audit_trail(context: dict, *, locale: str) -> Rendered:
    """The audit-trail PDF. A long one is laid out in parts on every core (each part as soon as its HTML
    is ready), the parts joined, and the page furniture laid over every page: the same header and footer
    laid out once, and the true page x of y, laid out on the same cores once the page count is known.
    WeasyPrint alone takes minutes and gigabytes for 10,000 events in one document."""
    from flask import render_template
    from flask_babel import force_locale

    events = context["events"]
    # the same few actions and records on every line: each label translated once per document
    context = {**context, "total_events": len(events), "action_label": functools.cache(context["action_label"]),
               "record_label": functools.cache(context["record_label"])}
    if len(events) <= EVENTS_PER_PART:
        return render_pdf("audit_trail.html", context, locale=locale)
    import io
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    from pypdf import PdfReader, PdfWriter

    parts = [events[i:i + EVENTS_PER_PART] for i in range(0, len(events), EVENTS_PER_PART)]
    workers = max(1, min(len(parts), os.cpu_count() or 1))
    # spawn, not fork: the web process has threads, and a forked copy of them can deadlock
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        with force_locale(locale):
            furniture = pool.submit(_html_to_pdf, render_template(
                "pdf/furniture.html", css_string=css_string, page_numbers_laid_over=True, **context))
            # each part but the last ends with where the trail goes on: the rest of its last page stays blank
            goes_on_at = [part[0].index for part in parts[1:]] + [None]
            laid_out = [pool.submit(_html_to_pdf, render_template(
                "pdf/audit_trail.html", css_string=css_string, **{**context, "events": parts[0],
                                                                    "no_furniture": True,
                                                                    "continued_at": goes_on_at[0]}))]
            laid_out += [pool.submit(_html_to_pdf, render_template("pdf/audit_trail_part.html", **{
                **context, "events": part, "continued_at": goes_on_at[number]}))
                for number, part in enumerate(parts[1:], start=1)]
        pdfs, refused = [], []
        for future in laid_out:
            pdf, part_refused = future.result()
            pdfs.append(pdf)
            refused += part_refused
        # joined once the workers are gone: the joined document and the workers' memory are not held at once
        page_count = sum(len(PdfReader(io.BytesIO(pdf)).pages) for pdf in pdfs)
        chunk = -(-page_count // workers)
        with force_locale(locale):
            numbers_html = [render_template("pdf/page_numbers.html", css_string=css_string, first_page=first + 1,
                                            pages=min(chunk, page_count - first), page_count=page_count)
                            for first in range(0, page_count, chunk)]
        numbers = list(pool.map(_html_to_pdf, numbers_html))
        furniture_pdf, furniture_refused = furniture.result()
    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(PdfReader(io.BytesIO(pdf)))
    header_and_footer = _form_xobject(writer, PdfReader(io.BytesIO(furniture_pdf)).pages[0])
    number_pages = [page for pdf, _ in numbers for page in PdfReader(io.BytesIO(pdf)).pages]
    for number, (page, number_page) in enumerate(zip(writer.pages, number_pages, strict=True), start=1):
        _draw_over(writer, page, {"/GmpFurniture": header_and_footer,
                                  f"/GmpPageNumber{number}": _form_xobject(writer, number_page)})
    writer.add_metadata({"/Producer": "gmp-complaints"})
    out = io.BytesIO()
    writer.write(out)
    return Rendered(out.getvalue(), refused + furniture_refused + [url for _, urls in numbers for url in urls])


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
