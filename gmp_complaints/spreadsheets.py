"""One way to write a table as XLSX for the exports (the complaint ledger, a recall's consignee list):
a bold title row, bold headers, frozen panes."""
from __future__ import annotations

import io
from collections.abc import Iterable


def xlsx(title: str, sheet_name: str, headers: list[str], rows: Iterable[list], footer: Iterable[list] = ()) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name[:31]
    sheet.append([title])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(headers)
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    footer = list(footer)
    if footer:
        sheet.append([])
        for row in footer:
            sheet.append(row)
    sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
