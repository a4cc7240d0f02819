"""Exports a hostile value cannot turn against their reader (issue 19): spreadsheet cells that could run as formulas
are neutralised, uploaded file names never become paths inside a zip, and a file made in clear for one reader is not
handed to a reader without access to personal data."""
import csv
import io

import pytest

from gmp_complaints.archive import ENTRY_NAME_LENGTH, entry_name
from gmp_complaints.domain.personal_data import may_receive
from gmp_complaints.spreadsheets import csv_table, formula_safe, reproducible_workbook, xlsx


class TestFormulaSafe:
    @pytest.mark.parametrize("hostile", ['=cmd|" /C calc"!A0', "+1+cmd|' /C calc'!A0", "-2+3+cmd|'/C calc'!A0",
                                         "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=HYPERLINK(\"x\")",
                                         "-", "+86 139-8765-4321", "-5 boxes"])
    def test_text_a_spreadsheet_could_run_gets_a_leading_quote(self, hostile):
        assert formula_safe(hostile) == "'" + hostile

    @pytest.mark.parametrize("plain", ["仁和大药房", "a=b", " =1+1", "B2601", "", "'=already quoted", "5-3"])
    def test_other_text_stays_as_it_is(self, plain):
        assert formula_safe(plain) == plain

    @pytest.mark.parametrize("number", [-5, 0, 3.25, -0.5, None, True, "-5", "+3.25", "-0.5", "12"])
    def test_numbers_and_text_that_is_just_a_signed_number_stay_as_they_are(self, number):
        assert formula_safe(number) == number

    def test_a_csv_table_quotes_the_hostile_cells_and_keeps_numbers(self):
        data = csv_table(["consignee", "quantity"], [['=cmd|" /C calc"!A0', -5], ["@evil", "-5"], ["仁和", 10]])
        assert data.startswith("\ufeff".encode())
        rows = list(csv.reader(io.StringIO(data.decode("utf-8").lstrip("\ufeff"))))
        assert rows == [["consignee", "quantity"], ["'=cmd|\" /C calc\"!A0", "-5"], ["'@evil", "-5"], ["仁和", "10"]]
        assert b"\r\n" in data


class TestXlsx:
    def _cells(self, data: bytes):
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(data)).active
        return {cell.coordinate: cell for row in sheet.iter_rows() for cell in row}

    def test_text_starting_with_a_formula_sign_is_stored_as_text_with_the_quote_prefix(self):
        cells = self._cells(xlsx("t", "s", ["a", "b", "c"], [["=1+1", "@x", -5], ["#REF!", "plain", "-5"]],
                                 footer=[["=SUM(A1)"]]))
        for coordinate, text in (("A3", "=1+1"), ("B3", "@x"), ("A4", "#REF!"), ("C4", "-5"), ("A6", "=SUM(A1)")):
            assert (cells[coordinate].value, cells[coordinate].data_type) == (text, "s"), coordinate
        assert cells["A3"].quotePrefix and cells["B3"].quotePrefix and cells["A6"].quotePrefix
        assert not cells["B4"].quotePrefix and not cells["C4"].quotePrefix  # plain text, a signed number
        assert (cells["C3"].value, cells["C3"].data_type) == (-5, "n")

    def test_a_reproducible_workbook_is_neutralised_too_and_stays_reproducible(self):
        first = reproducible_workbook("t", [("s", ["a"], [["=1+1"]])])
        assert first == reproducible_workbook("t", [("s", ["a"], [["=1+1"]])])
        cell = self._cells(first)["A3"]
        assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)


class TestEntryName:
    @pytest.mark.parametrize("filename, expected", [
        ("../../etc/passwd", "passwd"), ("..\\x.txt", "x.txt"), ("/etc/shadow", "shadow"),
        ("C:\\Windows\\evil.pdf", "evil.pdf"), ("C:evil.pdf", "C_evil.pdf"), ("a\x00b.pdf", "a_b.pdf"),
        ("evil.pdf\x00.exe", "evil.pdf_.exe"), (".htaccess", "htaccess"), ("..", "file"), ("", "file"),
        ("  .  ", "file"), ("a/b/../c.pdf", "c.pdf"), ('re<p>ort:"1"|?*.pdf', "re_p_ort__1____.pdf"),
        ("line\nbreak.pdf", "line_break.pdf"), ("样品照片 1.jpeg", "样品照片 1.jpeg"), ("trailing. ", "trailing"),
    ])
    def test_an_uploaded_name_becomes_one_harmless_name(self, filename, expected):
        assert entry_name(filename) == expected

    @pytest.mark.parametrize("filename", ["x" * 300 + ".pdf", "照片" * 200 + ".jpeg", "y" * 1000])
    def test_a_very_long_name_is_cut_keeping_its_extension(self, filename):
        name = entry_name(filename)
        assert len(name) == ENTRY_NAME_LENGTH and name.endswith(filename[-5:] if "." in filename else "y")
        assert len(name.encode("utf-8")) < 255


class TestMayReceive:
    @pytest.mark.parametrize("roles, masked, allowed", [
        ({"qp"}, True, True), ({"auditor"}, True, True), ({"qp"}, False, False), ({"auditor"}, False, False),
        ({"qa_officer"}, False, True), ({"qa_head"}, False, True), ({"investigator", "intake"}, False, True),
        (set(), False, False), (None, False, False),
    ])
    @pytest.mark.req("SEC-11")
    def test_a_clear_file_goes_only_to_a_reader_who_may_see_personal_data(self, roles, masked, allowed):
        assert may_receive(masked, roles) is allowed
