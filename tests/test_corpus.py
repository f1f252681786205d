"""The sample corpus against the counts its authors wrote down (tests/fixtures/corpus_expected).

One test per ``corpus_expected/*.json`` file that exists: ingest ``corpus/<file>`` (with its rows
of ``corpus/metadata.csv`` when that exists) and compare turns, speakers, interviewers, the first
and last turn, and the number of words (within 10%).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, CORPUS_EXPECTED

from qualcode.documents import document_speakers, document_turns, list_documents
from qualcode.ingest import ingest_files
from qualcode.ingest.encoding import decode_bytes
from qualcode.ingest.metadata import document_key
from qualcode.store import init_project

METADATA = CORPUS / "metadata.csv"
EXPECTED = sorted(CORPUS_EXPECTED.glob("*.json"))


def _metadata_rows(name: str) -> tuple[list[list[str]], str] | None:
    """Header and the rows of ``corpus/metadata.csv`` about document ``name`` (None: none)."""
    if not METADATA.exists():
        return None
    text, _ = decode_bytes(METADATA.read_bytes(), METADATA)
    text = text.lstrip("\ufeff")
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(r)]
    header = [h.strip().lower() for h in rows[0]]
    column = header.index("document")
    own = [r for r in rows[1:] if document_key(r[column]) == document_key(name)]
    return ([rows[0], *own], delimiter) if own else None


def _words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("expected_file", EXPECTED, ids=[p.stem for p in EXPECTED])
def test_corpus_file_matches_its_expectations(expected_file: Path, tmp_path: Path) -> None:
    expected: dict[str, Any] = json.loads(expected_file.read_text(encoding="utf-8"))
    name = expected["file"]
    source = CORPUS / name
    assert source.exists(), f"{expected_file.name} describes {name}, which is not in corpus/"
    selected = _metadata_rows(name)
    metadata = None
    if selected is not None:
        rows, delimiter = selected
        metadata = tmp_path / "metadata.csv"
        with metadata.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle, delimiter=delimiter).writerows(rows)

    with init_project(tmp_path / "project") as project:
        ingest_files(project, [source], metadata=metadata)
        (doc,) = list_documents(project)
        turns = document_turns(project, name)
        speakers = document_speakers(project, name)

    problems = []
    if doc.format.split("-")[0] != expected["format"].split("-")[0]:
        problems.append(f"format {doc.format}, expected {expected['format']}")
    if len(turns) != expected["turns"]:
        problems.append(f"{len(turns)} turns, expected {expected['turns']}")
    found = {s["speaker"] for s in speakers}
    if found != set(expected["speakers"]):
        problems.append(f"speakers {sorted(found)}, expected {sorted(expected['speakers'])}")
    interviewers = {s["speaker"] for s in speakers if s["is_interviewer"]}
    wanted = set(expected["interviewers"])
    if metadata is not None and interviewers != wanted:
        problems.append(f"interviewers {sorted(interviewers)}, expected {sorted(wanted)}")
    if metadata is None and not interviewers <= wanted:
        # without metadata only the label convention can tell; it must not be wrong
        problems.append(f"interviewers {sorted(interviewers)} not among {sorted(wanted)}")
    for which, turn in (("first_turn", turns[0]), ("last_turn", turns[-1])):
        want = expected[which]
        if turn["speaker"] != want["speaker"]:
            problems.append(f"{which} by {turn['speaker']}, expected {want['speaker']}")
        if not _words(turn["text"]).startswith(_words(want["starts_with"])):
            problems.append(
                f"{which} starts {turn['text'][:60]!r}, expected {want['starts_with']!r}"
            )
    low, high = 0.9 * expected["words"], 1.1 * expected["words"]
    if not low <= doc.words <= high:
        problems.append(f"{doc.words} words, expected {expected['words']} (±10%)")
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.skipif(not any(CORPUS.glob("*.*")), reason="no corpus files yet")
def test_whole_corpus_ingests_together(tmp_path: Path) -> None:
    """What `make demo` does first: every corpus file, with metadata.csv when it exists."""
    metadata = METADATA if METADATA.exists() else None
    with init_project(tmp_path / "project") as project:
        report = ingest_files(project, [CORPUS], metadata=metadata)
        assert report.added
        conn = project.conn
        for doc_id, text in conn.execute("SELECT id, text FROM documents").fetchall():
            for start, end, sql_text in conn.execute(
                "SELECT start, end, substr(?, start + 1, end - start) FROM segments"
                " WHERE document_id = ?",
                (text, doc_id),
            ):
                assert text[start:end] == sql_text and sql_text.strip() == sql_text
