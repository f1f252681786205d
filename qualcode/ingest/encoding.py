"""Decode transcript bytes: UTF-8 (with or without BOM), UTF-16 with BOM, Windows-1252."""

from __future__ import annotations

import codecs
from pathlib import Path

from qualcode.errors import TranscriptError


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_bytes(data: bytes, file: str | Path, encoding: str | None = None) -> tuple[str, str]:
    """Text and the encoding used. Raises a :class:`TranscriptError` naming the bad line."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except LookupError as exc:
            raise TranscriptError(file, f"unknown encoding '{encoding}'") from exc
        except UnicodeDecodeError as exc:
            raise TranscriptError(
                file, f"cannot be read as {encoding}", line=_line_of(data, exc.start)
            ) from exc
    if not data.strip():
        raise TranscriptError(file, "the file is empty", hint="check that it is the right file")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise TranscriptError(file, "damaged UTF-16 text") from exc
    if b"\x00" in data[:8192]:
        raise TranscriptError(
            file,
            "this is not a text file (it contains binary data)",
            hint="export the transcript as .docx, .txt, .vtt or .srt",
        )
    try:
        return data.decode("utf-8-sig"), "utf-8-sig" if data.startswith(
            codecs.BOM_UTF8
        ) else "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise TranscriptError(
                file,
                "contains bytes that are neither UTF-8 nor Windows-1252",
                line=_line_of(data, utf8_error.start),
                hint="save the file as UTF-8, or pass --encoding (e.g. --encoding latin-1)",
            ) from utf8_error
        control = sum(1 for c in text if ord(c) < 32 and c not in "\r\n\t\f")
        if control > max(5, len(text) // 100):
            raise TranscriptError(
                file,
                "this is not a text file (too many control characters)",
                hint="export the transcript as .docx, .txt, .vtt or .srt",
            ) from utf8_error
        return text, "cp1252"


def read_text(path: Path, encoding: str | None = None) -> tuple[str, str]:
    return decode_bytes(path.read_bytes(), path, encoding)


def read_csv_rows(path: Path) -> list[list[str]]:
    """Rows of a CSV file as Excel writes it: comma, semicolon (Dutch Excel) or tab separated,
    UTF-8 (with or without BOM) or Windows-1252."""
    text, _ = decode_bytes(path.read_bytes(), path)
    return csv_rows(text)


def csv_rows(text: str) -> list[list[str]]:
    """Rows of CSV text whose separator (comma, semicolon or tab) is sniffed."""
    import csv
    import io

    text = text.lstrip("\ufeff")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    return list(csv.reader(io.StringIO(text), dialect))
