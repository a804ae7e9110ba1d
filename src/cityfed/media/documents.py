"""Accept documents (PDF, OpenDocument, OOXML, CSV, plain text) by their content, and serve them
so that no browser runs them.

The type is read from the bytes: PDF's header, the ``mimetype`` entry an OpenDocument zip must
start with, the ``[Content_Types].xml`` part of an Office Open XML zip, or UTF-8 text with no
control characters. The file name and the declared type only choose between CSV and plain text
when the content could be either; they never make a file something its bytes are not. Everything
else is refused: executables, HTML, SVG, XML, macro-enabled Office files, legacy binary Office
files, unknown bytes.

Served documents always get ``Content-Disposition: attachment`` (with an RFC 6266/5987 file name),
``X-Content-Type-Options: nosniff`` and a sandboxing Content-Security-Policy.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote

from cityfed.media.errors import InvalidFile, MediaRejected, TooLarge, UnsupportedType


class DocumentType(StrEnum):
    """Accepted document types, by the media type we serve them with."""

    PDF = "application/pdf"
    ODT = "application/vnd.oasis.opendocument.text"
    ODS = "application/vnd.oasis.opendocument.spreadsheet"
    ODP = "application/vnd.oasis.opendocument.presentation"
    DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    CSV = "text/csv"
    TEXT = "text/plain"

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self]

    @property
    def served_type(self) -> str:
        """The Content-Type header: text is always declared UTF-8 (that is what we accepted)."""
        if self in (DocumentType.CSV, DocumentType.TEXT):
            return f"{self.value}; charset=utf-8"
        return self.value


_EXTENSIONS = {
    DocumentType.PDF: "pdf",
    DocumentType.ODT: "odt",
    DocumentType.ODS: "ods",
    DocumentType.ODP: "odp",
    DocumentType.DOCX: "docx",
    DocumentType.XLSX: "xlsx",
    DocumentType.PPTX: "pptx",
    DocumentType.CSV: "csv",
    DocumentType.TEXT: "txt",
}

# The main part of an OOXML package says what it is; macro-enabled ones (.docm, .xlsm, .pptm)
# have other content types and so fall through to "unknown".
_OOXML_MAIN = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": (
        DocumentType.DOCX
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": (
        DocumentType.XLSX
    ),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": (
        DocumentType.PPTX
    ),
}
_ODF = {t.value: t for t in (DocumentType.ODT, DocumentType.ODS, DocumentType.ODP)}
_CONTENT_TYPE = re.compile(rb'ContentType\s*=\s*"([^"]{1,200})"')
_MAX_TYPES_XML = 256 * 1024  # a real [Content_Types].xml is a few KB
_MAX_ZIP_ENTRIES = 10_000
# Uncompressed size allowed per compressed byte, beyond a floor: a zip bomb served to visitors
# would be their office suite's problem, but we refuse to host one.
_MAX_ZIP_RATIO = 100
_ZIP_RATIO_FLOOR = 64 * 1024 * 1024

# Signatures of what we refuse by name, for a clearer message than "unknown".
_EXECUTABLES = (
    b"MZ",  # Windows PE
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O (and Java classes)
    b"#!",
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc/.xls/.ppt: macros, decades of exploits
# Text whose first characters a browser would sniff as markup (WHATWG MIME sniffing).
_MARKUP = re.compile(
    r"^\s*<(?:!doctype|html|head|script|iframe|svg|\?xml|!--|body|table|div|a|p|style|title|b|br"
    r"|font|h1)[\s>/]",
    re.IGNORECASE,
)
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class CheckedDocument:
    """A document we accept: its type by content and the file name we will offer it under."""

    type: DocumentType
    filename: str
    size: int


def _detect_zip(data: bytes) -> DocumentType:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InvalidFile(f"a broken zip container: {exc}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > _MAX_ZIP_ENTRIES:
            raise UnsupportedType("a zip container with too many entries")
        unpacked = sum(info.file_size for info in infos)
        if unpacked > max(_ZIP_RATIO_FLOOR, _MAX_ZIP_RATIO * len(data)):
            raise TooLarge("the container unpacks to far more than its size (a zip bomb)")
        names = {info.filename for info in infos}
        # OpenDocument: the first entry is an uncompressed "mimetype" holding the type (ODF 1.2
        # part 3, §3.3), which is what lets a reader sniff it from the first bytes.
        if infos and infos[0].filename == "mimetype" and infos[0].file_size <= 100:
            declared = archive.read(infos[0]).decode("ascii", "replace").strip()
            if declared in _ODF:
                if any(n.lower().startswith(("basic/", "scripts/")) for n in names):
                    raise UnsupportedType("OpenDocument files with macros are not accepted")
                return _ODF[declared]
            raise UnsupportedType(f"an OpenDocument of a type we do not accept ({declared!r})")
        if "[Content_Types].xml" in names:
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > _MAX_TYPES_XML:
                raise InvalidFile("an Office file with an oversized [Content_Types].xml")
            # Read as bytes with a regex, not an XML parser: nothing to expand, nothing to fetch.
            types = set(_CONTENT_TYPE.findall(archive.read(info)))
            content_types = {t.decode("ascii", "replace") for t in types}
            found = {_OOXML_MAIN[t] for t in content_types if t in _OOXML_MAIN}
            if len(found) == 1 and not any(n.lower().endswith("vbaproject.bin") for n in names):
                return found.pop()
            raise UnsupportedType(
                "an Office file of a type we do not accept (macro-enabled or not a document)"
            )
    raise UnsupportedType("zip archives are not accepted, only documents (ODF, DOCX, XLSX)")


def _csv_shaped(text: str) -> bool:
    """At least two lines that split into the same number (≥ 2) of fields by one delimiter."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) < 2:
        return False
    for delimiter in (",", ";", "\t"):
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


def _detect_text(data: bytes, filename: str, declared_type: str | None) -> DocumentType:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnsupportedType("text must be UTF-8; other bytes are not a type we accept") from None
    if _TEXT_CONTROL.search(text):
        raise UnsupportedType("binary content of a type we do not accept")
    if _MARKUP.match(text):
        raise UnsupportedType("HTML, SVG and XML are not accepted (a browser may run them)")
    wants_csv = filename.lower().endswith(".csv") or (declared_type or "").startswith("text/csv")
    return DocumentType.CSV if wants_csv and _csv_shaped(text) else DocumentType.TEXT


def detect_document(
    data: bytes, filename: str = "", declared_type: str | None = None
) -> DocumentType:
    """The type of ``data`` by its content, or ``UnsupportedType``/``InvalidFile``."""
    if not data:
        raise InvalidFile("the file is empty")
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise InvalidFile("a PDF without its end marker (truncated?)")
        return DocumentType.PDF
    if data.startswith(b"PK\x03\x04"):
        try:
            return _detect_zip(data)
        except MediaRejected:
            raise
        except Exception as exc:  # zipfile raises many types on damaged archives
            raise InvalidFile(f"a broken zip container ({type(exc).__name__})") from None
    if data.startswith(_OLE):
        raise UnsupportedType(
            "legacy Office files (.doc, .xls, .ppt) are not accepted: save as "
            "PDF, OpenDocument or DOCX/XLSX"
        )
    if data.startswith(_EXECUTABLES):
        raise UnsupportedType("executables and scripts are not accepted")
    return _detect_text(data, filename, declared_type)


def safe_filename(name: str, doc_type: DocumentType) -> str:
    """A file name to offer: the base name only, no control or path characters, at most 120
    characters, and always the extension of the type we detected (a ``.pdf.exe`` becomes
    ``.pdf.pdf``, never runnable by its name)."""
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r'[<>:"|?*;]', "_", base).strip(" .")
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = stem[:120].strip(" .") or "document"
    return f"{stem}.{doc_type.extension}"


def check_document(
    data: bytes, filename: str, declared_type: str | None, *, max_bytes: int
) -> CheckedDocument:
    """Accept ``data`` as a document or raise a ``MediaRejected`` subclass."""
    if len(data) > max_bytes:
        raise TooLarge(f"the document is larger than {max_bytes // (1024 * 1024)} MiB")
    doc_type = detect_document(data, filename, declared_type)
    return CheckedDocument(doc_type, safe_filename(filename, doc_type), len(data))


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact UTF-8 name (RFC 6266, RFC 8187)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%' else "_" for ch in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def serving_headers(doc_type: DocumentType, filename: str) -> dict[str, str]:
    """The headers a document is served with (the storage's cache headers come on top)."""
    return {
        "Content-Type": doc_type.served_type,
        "Content-Disposition": content_disposition(filename),
        "X-Content-Type-Options": "nosniff",
        # If a browser renders it anyway (a PDF viewer opened by hand), no script, no requests.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
