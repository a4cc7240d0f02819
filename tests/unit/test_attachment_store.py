"""Attachments: the upload allow-list and the content-addressed, read-only store (no database, no Flask)."""
import hashlib
import io
import stat
import zipfile

import pytest

from gmp_complaints.attachment_store import (
    CSV,
    DOCX,
    GIF,
    JCAMP,
    JPEG,
    PDF,
    PNG,
    TEXT,
    TIFF,
    XLSX,
    AttachmentPolicy,
    AttachmentRejected,
    ContentStore,
    StoredFileCorrupted,
    StoredFileMissing,
    check_upload,
)

PDF_BYTES = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"
HTML_BYTES = b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>\n"
SVG_BYTES = b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
JCAMP_BYTES = b"##TITLE=Returned sample, batch A001\n##JCAMP-DX=4.24\n##DATA TYPE=INFRARED SPECTRUM\n##END=\n"


def office_file(part: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(part, "<document/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", EXE_BYTES)
    return buffer.getvalue()


# --- the upload allow-list -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "data", "media_type"), [
    ("complaint letter.pdf", PDF_BYTES, PDF),
    ("photo.PNG", PNG_BYTES, PNG),
    ("IMG_0001.jpg", JPEG_BYTES, JPEG),
    ("IMG_0002.jpeg", JPEG_BYTES, JPEG),
    ("leaflet.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", GIF),
    ("scan.tif", b"II*\x00\x08\x00\x00\x00", TIFF),
    ("scan.tiff", b"MM\x00*\x00\x00\x00\x08", TIFF),
    ("通话记录.txt", "客户来电：药片有黑点。\n".encode("utf-8"), TEXT),
    ("results.csv", "\ufeffbatch,assay\nA001,99.2%\n".encode("utf-8"), CSV),
    ("ir.jdx", JCAMP_BYTES, JCAMP),
    ("ir.dx", JCAMP_BYTES, JCAMP),
    ("report.docx", office_file("word/document.xml"), DOCX),
    ("stock.xlsx", office_file("xl/workbook.xml"), XLSX),
    ("C:\\fakepath\\letter.pdf", PDF_BYTES, PDF),
])
def test_allowed_files_are_accepted_with_their_detected_media_type(filename, data, media_type):
    assert check_upload(filename, data) == media_type


@pytest.mark.parametrize(("filename", "data", "code", "reason"), [
    ("setup.exe", EXE_BYTES, "type_not_allowed", "executable"),
    ("invoice.pdf", EXE_BYTES, "type_not_allowed", "executable"),  # a renamed program
    ("readme.txt", b"\x7fELF\x02\x01\x01" + b"\x00" * 9, "type_not_allowed", "executable"),
    ("page.html", HTML_BYTES, "type_not_allowed", "Web pages"),
    ("notes.txt", HTML_BYTES, "type_not_allowed", "Web pages"),
    ("logo.svg", SVG_BYTES, "type_not_allowed", "SVG"),
    ("photo.png", PDF_BYTES, "extension_mismatch", ".png does not match the content, which is application/pdf"),
    ("letter.pdf", PNG_BYTES, "extension_mismatch", ".pdf does not match the content, which is image/png"),
    ("letter.txt", PDF_BYTES, "extension_mismatch", ".txt does not match the content, which is application/pdf"),
    ("report.docx", office_file("xl/workbook.xml"), "extension_mismatch", "which is application/vnd"),
    ("report.docx", plain_zip(), "extension_mismatch", "not an accepted type"),
    ("archive.zip", plain_zip(), "type_not_allowed", "Files of type .zip are not accepted"),
    ("photo.png", b"not really a picture", "extension_mismatch", "which is text/plain"),
    ("data.csv", "批号,含量\n".encode("gb18030"), "extension_mismatch", "not an accepted type"),
    ("data.csv", b"a,b\x00c\n", "extension_mismatch", "not an accepted type"),
    ("spectrum.jdx", b"just some text\n", "extension_mismatch", "which is text/plain"),
    ("letter", PDF_BYTES, "type_not_allowed", "(no extension)"),
    ("letter.pdf.exe", PDF_BYTES, "type_not_allowed", ".exe"),
])
def test_disallowed_or_disguised_files_are_rejected_naming_the_file_field(filename, data, code, reason):
    with pytest.raises(AttachmentRejected) as rejected:
        check_upload(filename, data)
    assert rejected.value.code == code
    assert reason in rejected.value.reason
    assert str(rejected.value).startswith("file: ")
    assert rejected.value.fields == {"file": [rejected.value.reason]}
    assert isinstance(rejected.value, ValueError)


def test_an_empty_file_is_rejected():
    with pytest.raises(AttachmentRejected, match="file: The file is empty") as rejected:
        check_upload("letter.pdf", b"")
    assert rejected.value.code == "empty"


def test_the_size_limit_is_20_mib_by_default_and_configurable():
    at_limit = b"%PDF-" + b"x" * (20 * 1024 * 1024 - 5)
    assert check_upload("big.pdf", at_limit) == PDF
    with pytest.raises(AttachmentRejected, match="too large .*20.0 MiB") as rejected:
        check_upload("big.pdf", at_limit + b"x")
    assert rejected.value.code == "too_large"

    small = AttachmentPolicy(max_bytes=1000)
    assert small.check_upload("letter.pdf", PDF_BYTES) == PDF
    with pytest.raises(AttachmentRejected, match="limit is 1000 bytes"):
        small.check_upload("letter.pdf", PDF_BYTES + b" " * 1000)


def test_a_site_can_narrow_the_allow_list():
    pdf_only = AttachmentPolicy(allowed={PDF: AttachmentPolicy().allowed[PDF]})
    assert pdf_only.check_upload("letter.pdf", PDF_BYTES) == PDF
    with pytest.raises(AttachmentRejected, match=r"allowed: \.pdf\.$"):
        pdf_only.check_upload("photo.png", PNG_BYTES)


# --- the content-addressed store -----------------------------------------------------------------------------


@pytest.mark.req("REC-03")
def test_stored_content_comes_back_unchanged_under_its_sha256(tmp_path):
    store = ContentStore(tmp_path / "attachments")
    sha256 = store.put(PDF_BYTES)
    assert sha256 == hashlib.sha256(PDF_BYTES).hexdigest()
    assert store.exists(sha256)
    assert store.open(sha256) == PDF_BYTES
    assert (tmp_path / "attachments" / sha256[:2] / sha256[2:4] / sha256).read_bytes() == PDF_BYTES


@pytest.mark.req("REC-03")
def test_stored_files_are_read_only(tmp_path):
    store = ContentStore(tmp_path)
    sha256 = store.put(PNG_BYTES)
    path = tmp_path / sha256[:2] / sha256[2:4] / sha256
    assert stat.S_IMODE(path.stat().st_mode) == 0o440


def test_the_same_content_is_stored_once(tmp_path):
    store = ContentStore(tmp_path)
    first = store.put(PDF_BYTES)
    second = store.put(bytes(PDF_BYTES))
    assert first == second
    stored = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert [p.name for p in stored] == [first]  # one file, no temporary files left behind
    assert store.put(PNG_BYTES) != first


def test_an_unknown_hash_is_missing(tmp_path):
    store = ContentStore(tmp_path)
    unknown = hashlib.sha256(b"never stored").hexdigest()
    assert not store.exists(unknown)
    with pytest.raises(StoredFileMissing):
        store.open(unknown)


@pytest.mark.parametrize("bad", ["../../etc/passwd", "A" * 64, "ab" * 31, "", "0" * 63 + "/"])
def test_only_a_sha256_can_name_a_stored_file(tmp_path, bad):
    store = ContentStore(tmp_path)
    with pytest.raises(ValueError, match="SHA-256"):
        store.open(bad)
    with pytest.raises(ValueError, match="SHA-256"):
        store.exists(bad)


def tamper(root, sha256: str, content: bytes) -> None:
    path = root / sha256[:2] / sha256[2:4] / sha256
    path.chmod(0o640)
    path.write_bytes(content)
    path.chmod(0o440)


@pytest.mark.req("RET-03")
def test_a_tampered_file_is_detected_on_read(tmp_path):
    store = ContentStore(tmp_path)
    sha256 = store.put(PDF_BYTES)
    tamper(tmp_path, sha256, PDF_BYTES.replace(b"Catalog", b"Catalug"))
    with pytest.raises(StoredFileCorrupted, match=sha256) as corrupted:
        store.open(sha256)
    assert corrupted.value.actual == hashlib.sha256(PDF_BYTES.replace(b"Catalog", b"Catalug")).hexdigest()


@pytest.mark.req("RET-03")
def test_storing_again_over_a_tampered_file_reports_it_instead_of_hiding_it(tmp_path):
    store = ContentStore(tmp_path)
    sha256 = store.put(PDF_BYTES)
    tamper(tmp_path, sha256, b"%PDF-forged")
    with pytest.raises(StoredFileCorrupted):
        store.put(PDF_BYTES)
    assert store.verify_all() == [sha256]


@pytest.mark.req("RET-03")
def test_verify_all_names_exactly_the_damaged_files(tmp_path):
    store = ContentStore(tmp_path)
    intact = store.put(PDF_BYTES)
    damaged = store.put(PNG_BYTES)
    truncated = store.put(JPEG_BYTES)
    assert store.verify_all() == []
    tamper(tmp_path, damaged, PNG_BYTES + b"\x00")
    tamper(tmp_path, truncated, b"")
    assert store.verify_all() == sorted([damaged, truncated])
    assert store.open(intact) == PDF_BYTES


@pytest.mark.req("RET-03")
def test_verify_all_reports_expected_files_that_are_gone(tmp_path):
    store = ContentStore(tmp_path)
    kept = store.put(PDF_BYTES)
    lost = store.put(PNG_BYTES)
    path = tmp_path / lost[:2] / lost[2:4] / lost
    path.unlink()  # removed behind the application's back
    assert store.verify_all() == []  # the store alone cannot know
    assert store.verify_all(expected=[kept, lost]) == [lost]


@pytest.mark.req("RET-03")
def test_verify_all_ignores_temporary_files_of_an_interrupted_write(tmp_path):
    store = ContentStore(tmp_path)
    sha256 = store.put(PDF_BYTES)
    (tmp_path / sha256[:2] / sha256[2:4] / f".{sha256}.0123.tmp").write_bytes(b"half")
    assert store.verify_all() == []
    assert store.open(sha256) == PDF_BYTES
