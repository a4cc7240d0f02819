"""One way to write a table as CSV or XLSX for the exports (the complaint ledger, a recall's consignee list, the
audit trail's readable view, the list of users): a bold title row, bold headers, frozen panes in XLSX; UTF-8 with
a BOM in CSV. Every text cell goes through ``formula_safe`` (OWASP "CSV injection"): a spreadsheet must never
run what a complainant or an ERP file wrote into a field."""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

#: a cell a spreadsheet may read as a formula (or as DDE) when it starts with one of these
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: a plain number written as text ("-5", "+3.25") is read as that number, never as a formula
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")


def formula_safe(value):
    """The cell as written to a spreadsheet: text that a spreadsheet could run as a formula gets a leading single
    quote, so that it shows as the text it is; numbers, dates and empty cells stay as they are, and so does text
    that is just a signed number (a negative quantity is no formula)."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS) or PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


class CsvWriter:
    """``csv.writer`` whose every cell goes through ``formula_safe``."""

    def __init__(self, buffer):
        self._writer = csv.writer(buffer, lineterminator="\r\n")

    def writerow(self, row: Iterable) -> None:
        self._writer.writerow([formula_safe(cell) for cell in row])

    def writerows(self, rows: Iterable[Iterable]) -> None:
        for row in rows:
            self.writerow(row)


def csv_bytes(text: str) -> bytes:
    """UTF-8 with a BOM, so that spreadsheets open the Chinese text right."""
    return ("\ufeff" + text).encode("utf-8")


def csv_table(headers: Iterable, rows: Iterable[Iterable]) -> bytes:
    """A table as CSV (``formula_safe`` cells, CRLF lines, UTF-8 with a BOM)."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return csv_bytes(buffer.getvalue())


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
            append_safely(sheet, row)
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
        append_safely(sheet, row)
    sheet.freeze_panes = "A3"


def append_safely(sheet, row: Iterable) -> None:
    """Append a row whose text is never a formula: openpyxl writes text starting with "=" as a formula (and "#REF!"
    as an error), so such text is stored as text, and every cell ``formula_safe`` would quote keeps its exact text
    with Excel's own quote prefix (shown as text, and still text when edited)."""
    from openpyxl.cell.cell import Cell

    cells = []
    for value in row:
        if isinstance(value, str) and value.startswith(FORMULA_STARTS + ("#",)):
            cell = Cell(sheet, value=value)
            if cell.data_type != "s" or formula_safe(value) != value:
                cell.data_type = "s"
                cell.quotePrefix = True
            value = cell
        cells.append(value)
    sheet.append(cells)


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
