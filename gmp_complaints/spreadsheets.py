"""One way to write a table as XLSX for the exports (the complaint ledger, a recall's consignee list):
a bold title row, bold headers, frozen panes."""
from __future__ import annotations

import io
from collections.abc import Iterable


def xlsx(title: str, sheet_name: str, headers: list[str], rows: Iterable[list], footer: Iterable[list] = ()) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name[:31]
    _table(sheet, title, headers, rows)
    footer = list(footer)
    if footer:
        sheet.append([])
        for row in footer:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _table(sheet, title: str, headers: list[str], rows: Iterable[list]) -> None:
    """A bold title row, bold headers, the rows, and the panes frozen below the headers."""
    from openpyxl.styles import Font

    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    sheet.freeze_panes = "A3"


#: the document time of a reproducible workbook (openpyxl stamps "now" into docProps/core.xml otherwise)
FIXED_TIME = "2000-01-01T00:00:00Z"


def reproducible_workbook(title: str, sheets: Iterable[tuple[str, list[str], Iterable[list]]]) -> bytes:
    """Several tables, one per sheet (each with the title row and bold headers), written so that the same
    content gives the same bytes: a fixed document time and zip members in name order with fixed times."""
    import re
    import zipfile

    from openpyxl import Workbook

    from audit.export import deterministic_zip

    book = Workbook()
    book.remove(book.active)
    for name, headers, rows in sheets:
        _table(book.create_sheet(name[:31]), title, headers, rows)
    buffer = io.BytesIO()
    book.save(buffer)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as saved:
        files = {name: saved.read(name) for name in saved.namelist()}
    core = files["docProps/core.xml"].decode("utf-8")
    core = re.sub(r"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rf"\g<1>{FIXED_TIME}\g<2>", core)
    files["docProps/core.xml"] = core.encode("utf-8")
    return deterministic_zip(files)
