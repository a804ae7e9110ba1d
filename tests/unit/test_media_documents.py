"""Documents: the type from the content (magic bytes, the zip's own declaration), refusals of
everything a browser or an office suite might run, and safe serving headers."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityfed.media.documents import (
    DocumentType,
    check_document,
    content_disposition,
    detect_document,
    safe_filename,
    serving_headers,
)
from cityfed.media.errors import InvalidFile, MediaRejected, TooLarge, UnsupportedType

MiB = 1024 * 1024
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def odf(mimetype: str, extra: dict[str, bytes] | None = None) -> bytes:
    """An OpenDocument package as office suites write it: ``mimetype`` first, stored."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        archive.writestr("content.xml", "<office:document-content/>")
        archive.writestr("META-INF/manifest.xml", "<manifest:manifest/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def ooxml(main_part: str, main_type: str, extra: dict[str, bytes] | None = None) -> bytes:
    types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="{main_part}" ContentType="{main_type}"/></Types>'
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr(main_part.lstrip("/"), "<document/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"


def test_pdf_by_its_header() -> None:
    assert detect_document(PDF, "report.bin") == DocumentType.PDF
    with pytest.raises(InvalidFile):
        detect_document(b"%PDF-1.7\n1 0 obj <<>> endobj\n", "cut.pdf")


def test_opendocument_by_its_mimetype_entry() -> None:
    assert detect_document(odf(DocumentType.ODT.value), "x.zip") == DocumentType.ODT
    assert detect_document(odf(DocumentType.ODS.value)) == DocumentType.ODS
    assert detect_document(odf(DocumentType.ODP.value)) == DocumentType.ODP
    with pytest.raises(UnsupportedType):
        detect_document(odf("application/vnd.oasis.opendocument.graphics-template"))
    with pytest.raises(UnsupportedType, match="macros"):
        detect_document(odf(DocumentType.ODT.value, {"Basic/Standard/Module1.xml": b"Sub"}))


def test_office_open_xml_by_its_content_types_part() -> None:
    assert detect_document(ooxml("/word/document.xml", DOCX_MAIN), "a.pdf") == DocumentType.DOCX
    assert detect_document(ooxml("/xl/workbook.xml", XLSX_MAIN)) == DocumentType.XLSX
    macro = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
    with pytest.raises(UnsupportedType):
        detect_document(ooxml("/xl/workbook.xml", macro), "budget.xlsx")
    with pytest.raises(UnsupportedType):
        detect_document(ooxml("/word/document.xml", DOCX_MAIN, {"word/vbaProject.bin": b"\0"}))


def test_other_zips_are_not_documents() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", b"MZ...")
    with pytest.raises(UnsupportedType):
        detect_document(buffer.getvalue(), "tender.odt")
    with pytest.raises(InvalidFile):
        detect_document(b"PK\x03\x04 not really a zip", "tender.docx")


def test_a_zip_bomb_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), DocumentType.ODS.value)
        archive.writestr("content.xml", b"\0" * (80 * MiB))
    data = buffer.getvalue()
    assert len(data) < MiB
    with pytest.raises(TooLarge):
        detect_document(data)


def test_csv_or_text_the_content_decides_what_it_can_be() -> None:
    table = "Bezirk;Bäume\nMitte;1200\nPankow;3400\n".encode()
    assert detect_document(table, "trees.csv") == DocumentType.CSV
    assert detect_document(table, "trees.txt") == DocumentType.TEXT
    assert detect_document(table, "trees", "text/csv") == DocumentType.CSV
    prose = b"Dear council,\nthe bus stop at the market needs a roof.\nThanks, Anna\n"
    assert detect_document(prose, "letter.csv") == DocumentType.TEXT
    assert detect_document("\ufeffgrüße".encode(), "note.txt") == DocumentType.TEXT


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"<!DOCTYPE html><script>alert(1)</script>", "notes.txt"),
        (b"  <html><body onload=x()>", "notes.csv"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "plan.pdf"),
        (b'<?xml version="1.0"?><root/>', "data.csv"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "tender.pdf"),
        (b"\x7fELF\x02\x01\x01", "report.odt"),
        (b"#!/bin/sh\nrm -rf /\n", "readme.txt"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "budget.xls"),
        (b"\x89PNG\r\n\x1a\n", "scan.pdf"),
        ("caf\xe9".encode("latin-1"), "menu.txt"),
        (b"text with a \x00 NUL", "a.txt"),
    ],
)
def test_what_we_refuse(data: bytes, name: str) -> None:
    with pytest.raises(UnsupportedType) as refused:
        detect_document(data, name)
    assert refused.value.status == 415


def test_size_limit_and_empty_files() -> None:
    with pytest.raises(TooLarge) as refused:
        check_document(PDF + b"\0" * MiB, "big.pdf", None, max_bytes=MiB)
    assert refused.value.status == 413
    with pytest.raises(InvalidFile):
        check_document(b"", "empty.txt", "text/plain", max_bytes=MiB)
    checked = check_document(PDF, "Ausschreibung Straßenbahn.PDF", None, max_bytes=MiB)
    assert checked.type == DocumentType.PDF
    assert checked.filename == "Ausschreibung Straßenbahn.pdf"


def test_file_names_are_made_safe_and_get_the_detected_extension() -> None:
    assert safe_filename("../../etc/passwd.exe", DocumentType.PDF) == "passwd.pdf"
    assert safe_filename("C:\\Users\\x\\tender.docx", DocumentType.DOCX) == "tender.docx"
    assert safe_filename("invoice.pdf.exe", DocumentType.PDF) == "invoice.pdf.pdf"
    assert safe_filename("a\r\nb\x00c.txt", DocumentType.TEXT) == "abc.txt"
    assert safe_filename("", DocumentType.CSV) == "document.csv"
    assert safe_filename("...", DocumentType.PDF) == "document.pdf"
    assert len(safe_filename("x" * 500 + ".pdf", DocumentType.PDF)) == 124


def test_serving_headers() -> None:
    headers = serving_headers(DocumentType.CSV, "Bäume 2026.csv")
    assert headers["Content-Type"] == "text/csv; charset=utf-8"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == (
        "attachment; filename=\"B_ume 2026.csv\"; filename*=UTF-8''B%C3%A4ume%202026.csv"
    )
    assert "sandbox" in headers["Content-Security-Policy"]
    assert serving_headers(DocumentType.PDF, "a.pdf")["Content-Type"] == "application/pdf"


@given(st.text(max_size=300), st.sampled_from(list(DocumentType)))
def test_any_name_gives_a_header_that_cannot_break_out(name: str, doc_type: DocumentType) -> None:
    safe = safe_filename(name, doc_type)
    assert "/" not in safe and "\\" not in safe and safe.endswith("." + doc_type.extension)
    header = content_disposition(safe)
    assert header.isascii()
    assert not any(ch in header for ch in "\r\n\0")
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in fallback and "\\" not in fallback
    assert unquote(header.split("filename*=UTF-8''", 1)[1], errors="strict") == safe


SEEDS = [
    odf(DocumentType.ODT.value),
    ooxml("/word/document.xml", DOCX_MAIN),
    PDF,
    b"Bezirk;B\xc3\xa4ume\nMitte;1200\n",
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(SEEDS),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(0, 10_000)),
)
def test_damaged_documents_are_refused_cleanly(
    seed: bytes, changes: list[tuple[int, int]], cut: int | None
) -> None:
    """A fuzz run found a dozen exception types in zipfile (BadZipFile, zlib.error,
    NotImplementedError, negative seeks, ...): all must become a 4xx."""
    data = bytearray(seed)
    for position, value in changes:
        data[position % len(data)] = value
    if cut is not None:
        data = data[: cut % len(data)]
    try:
        detected = detect_document(bytes(data), "x.csv")
    except MediaRejected as exc:
        assert 400 <= exc.status < 500 and exc.reason
    else:
        assert detected in DocumentType
