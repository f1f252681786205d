"""Offsets: ``documents.text[start:end]`` is exactly the turn / segment text, for every fixture
and every unit; long turns split at paragraph boundaries."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TRANSCRIPTS, invoke

from qualcode.ingest import ingest_files, read_transcript
from qualcode.ingest.document import layout, segment, sentence_spans
from qualcode.store import Project, open_project
from qualcode.text import count_words


def _rows(project_dir: Path, sql: str, *args: object) -> list[sqlite3.Row]:
    conn = sqlite3.connect(project_dir / "qualcode.db")
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _check_document(project_dir: Path, runner: CliRunner, path: Path) -> None:
    (doc,) = _rows(project_dir, "SELECT * FROM documents WHERE name = ?", path.name)
    text = doc["text"]
    # `show --format json` returns the turn text; it must be the slice of the document text
    result = invoke(runner, "show", path.name, "--format", "json", "-p", project_dir)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    parsed = read_transcript(path)
    assert len(shown) == len(parsed.turns)
    for turn, raw in zip(shown, parsed.turns, strict=True):
        assert text[turn["start"] : turn["end"]] == turn["text"]
        assert turn["text"] == "\n".join(raw.paragraphs)
        assert turn["speaker"] == raw.speaker
        if raw.speaker != "-":
            label = f"{raw.speaker}: "
            assert text[turn["start"] - len(label) : turn["start"]] == label
    # segments: the SQLite substr and the Python slice agree; segments lie inside their turn
    segments = _rows(
        project_dir,
        "SELECT s.start, s.end, s.unit, t.start AS t_start, t.end AS t_end,"
        " substr(d.text, s.start + 1, s.end - s.start) AS sql_text"
        " FROM segments s JOIN turns t ON t.id = s.turn_id JOIN documents d ON d.id = s.document_id"
        " WHERE s.document_id = ? ORDER BY s.ord",
        doc["id"],
    )
    assert segments
    previous_end = 0
    for seg in segments:
        piece = text[seg["start"] : seg["end"]]
        assert piece == seg["sql_text"]
        assert piece and piece == piece.strip()
        assert seg["t_start"] <= seg["start"] < seg["end"] <= seg["t_end"]
        assert seg["start"] >= previous_end
        previous_end = seg["end"]
    turn_rows = _rows(
        project_dir,
        "SELECT substr(d.text, t.start + 1, t.end - t.start) AS sql_text FROM turns t"
        " JOIN documents d ON d.id = t.document_id WHERE t.document_id = ? ORDER BY t.ord",
        doc["id"],
    )
    assert [r["sql_text"] for r in turn_rows] == [t["text"] for t in shown]


@pytest.mark.parametrize("unit", ["turn", "paragraph", "sentence"])
def test_offsets_of_every_fixture(
    unit: str, all_fixtures: list[Path], project_dir: Path, runner: CliRunner
) -> None:
    result = invoke(runner, "ingest", *all_fixtures, "--unit", unit, "-p", project_dir)
    assert result.exit_code == 0, result.output
    assert f"{len(all_fixtures)} added" in result.stderr
    for path in all_fixtures:
        _check_document(project_dir, runner, path)
    units = {r[0] for r in _rows(project_dir, "SELECT DISTINCT unit FROM segments")}
    assert units == {unit}


def test_unit_turn_is_one_segment_per_short_turn(project: Project) -> None:
    ingest_files(project, [TRANSCRIPTS / "interview_namen.txt"])
    conn = project.conn
    assert conn.execute("SELECT count(*) FROM segments").fetchone()[0] == 5
    assert conn.execute("SELECT count(*) FROM turns").fetchone()[0] == 5


def test_unit_paragraph(project: Project) -> None:
    ingest_files(project, [TRANSCRIPTS / "interview_namen.txt"], unit="paragraph")
    conn = project.conn
    texts = [
        r[0]
        for r in conn.execute(
            "SELECT substr(d.text, s.start + 1, s.end - s.start) FROM segments s"
            " JOIN documents d ON d.id = s.document_id ORDER BY s.ord"
        )
    ]
    assert len(texts) == 6
    assert texts[1].startswith("Ja, eh, ik ben maatschappelijk werker")
    assert texts[2].startswith("Dat is best lastig")


def test_unit_sentence(project: Project) -> None:
    ingest_files(project, [TRANSCRIPTS / "f4_spreker.txt"], unit="sentence")
    conn = project.conn
    texts = [
        r[0]
        for r in conn.execute(
            "SELECT substr(d.text, s.start + 1, s.end - s.start) FROM segments s"
            " JOIN documents d ON d.id = s.document_id ORDER BY s.ord"
        )
    ]
    assert texts == [
        "Goedemiddag.",
        "Kunt u iets vertellen over uw werk als mantelzorger?",
        "Ja hoor.",
        "Ik zorg voor mijn moeder, ze heeft dementie.",
        "Toen de dagbesteding dichtging, viel haar hele structuur weg.",
        "En ik zat thuis met twee kinderen die online les hadden.",
        "Dat klinkt zwaar.",
        "Het was ook zwaar (zucht).",
        "Ik had het gevoel dat niemand het zag.",
    ]


def test_sentence_spans_keep_quotes_and_annotations() -> None:
    text = "Ze zei: “Ik red het niet.” Toen belde ik (zucht) de huisarts. 3 dagen later… Ja."
    pieces = [text[a:b] for a, b in sentence_spans(text, 0, len(text))]
    assert pieces == [
        "Ze zei: “Ik red het niet.”",  # the closing quote belongs to the sentence
        "Toen belde ik (zucht) de huisarts.",
        "3 dagen later…",
        "Ja.",
    ]
    # nothing is lost between the sentences but the spaces
    assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def _long_interview(path: Path) -> Path:
    paragraphs = [
        "Eerst verloor ik mijn opdrachten als zzp'er, alles werd in één week afgezegd en ik"
        " wist niet wat ik moest doen.",
        "Daarna kwam de huur, want mijn spaargeld was op en de TOZO-aanvraag duurde weken"
        " voordat er iets gebeurde.",
        "En toen begon ik slecht te slapen, ik lag 's nachts te piekeren over geld en over"
        " mijn dochter die thuis zat.",
        "Pas in het najaar heb ik hulp gevraagd bij de schuldhulpverlening van de gemeente.",
    ]
    text = (
        "Interviewer: Hoe ging het met u?\n\nR: "
        + "\n\n".join(paragraphs)
        + ("\n\nInterviewer: Dank u.\n")
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_long_turns_split_at_paragraph_boundaries(tmp_path: Path, project_dir: Path) -> None:
    path = _long_interview(tmp_path / "lang.txt")
    with open_project(project_dir) as proj:
        proj.update_settings(max_segment_words=45)
        ingest_files(proj, [path])
        doc = proj.conn.execute("SELECT id, text FROM documents").fetchone()
        turn = proj.conn.execute("SELECT id, start, end FROM turns WHERE ord = 2").fetchone()
        segs = proj.conn.execute(
            "SELECT start, end FROM segments WHERE turn_id = ? ORDER BY ord", (turn["id"],)
        ).fetchall()
    text = doc["text"]
    pieces = [text[s["start"] : s["end"]] for s in segs]
    assert len(pieces) == 2
    # each piece is whole paragraphs, at most 45 words, and together they are the whole turn
    # 21 + 18 words fit, the third paragraph (22 words) starts a new segment
    assert pieces[0].startswith("Eerst verloor") and pieces[0].endswith("iets gebeurde.")
    assert pieces[1].startswith("En toen begon") and pieces[1].endswith("van de gemeente.")
    assert all(count_words(p) <= 45 for p in pieces)
    assert segs[0]["start"] == turn["start"] and segs[-1]["end"] == turn["end"]
    assert "\n".join(pieces) == text[turn["start"] : turn["end"]]


def test_long_turn_default_setting_keeps_the_turn_whole(tmp_path: Path, project: Project) -> None:
    ingest_files(project, [_long_interview(tmp_path / "lang.txt")])
    conn = project.conn
    assert conn.execute("SELECT count(*) FROM segments").fetchone()[0] == 3


def test_one_paragraph_longer_than_the_limit_stays_whole() -> None:
    from qualcode.models import RawTurn

    long = " ".join(["woord"] * 30) + "."
    text, laid = layout([RawTurn("R", (long, "Kort.", "Ook kort."))])
    spans = segment(text, laid, "turn", max_words=10)
    assert [text[s.start : s.end] for s in spans] == [long, "Kort.\nOok kort."]


def test_annotation_only_segments_have_no_words(project: Project) -> None:
    ingest_files(project, [TRANSCRIPTS / "focusgroep_rnummers.txt"], unit="paragraph")
    conn = project.conn
    rows = conn.execute(
        "SELECT substr(d.text, s.start + 1, s.end - s.start), s.has_words FROM segments s"
        " JOIN documents d ON d.id = s.document_id ORDER BY s.ord"
    ).fetchall()
    assert ("(stilte)", 0) in [tuple(r) for r in rows]
    assert sum(1 for r in rows if r[1]) == len(rows) - 1


def test_offsets_with_characters_outside_the_bmp(tmp_path: Path, project: Project) -> None:
    """Python indices and SQLite substr count code points the same way, also for emoji."""
    path = tmp_path / "emoji.txt"
    path.write_text(
        "I: Hoe reageerden de buren? 🙂\n\nR: Met duimpjes 👍👍 in de buurtapp, en “bloemen” 💐.\n",
        encoding="utf-8",
    )
    ingest_files(project, [path], unit="sentence")
    conn = project.conn
    text = conn.execute("SELECT text FROM documents").fetchone()[0]
    for start, end, sql_text in conn.execute(
        "SELECT s.start, s.end, substr(d.text, s.start + 1, s.end - s.start) FROM segments s"
        " JOIN documents d ON d.id = s.document_id"
    ):
        assert text[start:end] == sql_text
    assert text.endswith("“bloemen” 💐.")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Ik weet het niet (zacht) meer.", 5),
        ("Ja (lange stilte) nee.", 2),
        ("(schudt het hoofd) Nee.", 1),
        ("Het was (lacht) leuk.", 3),
        ("Hij (de buurman) kwam.", 4),  # an aside in brackets is spoken text
    ],
)
def test_stage_directions_are_not_words(text: str, words: int) -> None:
    assert count_words(text) == words
