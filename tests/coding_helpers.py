"""Helpers shared by the codebook, suggestion, export, run and evaluation tests.

Not a conftest: the ingest tests own ``conftest.py``. Test modules import what they need from
here (pytest puts ``tests/`` on ``sys.path`` because the folder has no ``__init__.py``).
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
import textwrap
from functools import cache
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

FIXTURES = Path(__file__).parent / "fixtures"
CODEBOOKS = FIXTURES / "codebooks"
CODING_YAML = CODEBOOKS / "coding.yaml"
CHANGED_YAML = CODEBOOKS / "coding_changed.yaml"
SUGGEST_CORPUS = FIXTURES / "suggest" / "corpus"

# The coded units of the fixture corpus, as (document, order): interviewer/moderator turns and
# the annotation-only turns '(stilte)' and '[eenzaam, onverstaanbaar]' are not among them.
FG = "fg_ouderen.txt"
INT = "int_schulden.txt"
CODED_UNITS = [
    *[(FG, n) for n in (2, 3, 4, 6, 9, 10, 11)],
    *[(INT, n) for n in (2, 6, 8, 10)],
]
INTERVIEWER_UNITS = [(FG, 1), (FG, 5), (FG, 8), (INT, 1), (INT, 3), (INT, 5), (INT, 7), (INT, 9)]
ANNOTATION_ONLY_UNITS = [(FG, 7), (INT, 4)]

EENZAAMHEID = "impact/sociaal/eenzaamheid"
SCHULDEN = "impact/financieel/schulden"


def invoke(*args: object, input: str | None = None) -> Result:
    """Run ``qualcode ARGS``; an unexpected exception fails the test with its traceback."""
    from qualcode.cli import cli

    return CliRunner().invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)


def assert_one_line_error(result: Result, *fragments: str) -> str:
    """A user error: non-zero exit, 'Error: ...' on one line (plus an optional hint line)."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding=encoding)
    return path


def build_project(out: Path, codebook: Path = CODING_YAML) -> Path:
    """``qualcode run`` on the fixture corpus (library call, no CLI): project + exports."""
    from qualcode.pipeline import run

    run([SUGGEST_CORPUS], out=out, codebook=codebook)
    return out


def copy_project(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def connect(project_dir: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(project_dir / "qualcode.db")
    conn.row_factory = sqlite3.Row
    return conn


def segment_ids(project_dir: Path) -> dict[tuple[str, int], int]:
    """(document, order) → segment id."""
    with connect(project_dir) as conn:
        rows = conn.execute(
            "SELECT s.id, d.name, s.ord FROM segments s JOIN documents d ON d.id = s.document_id"
        ).fetchall()
    return {(r["name"], r["ord"]): r["id"] for r in rows}


def codings(project_dir: Path, coder: str = "qualcode") -> list[tuple[Any, ...]]:
    """Every column of a coder's codings, in id order (to compare byte for byte)."""
    conn = connect(project_dir)
    try:
        return [
            tuple(r)
            for r in conn.execute("SELECT * FROM codings WHERE coder = ? ORDER BY id", (coder,))
        ]
    finally:
        conn.close()


def suggested(project_dir: Path) -> set[tuple[str, int, str]]:
    """The machine's suggestions as (document, order, code path)."""
    conn = connect(project_dir)
    try:
        rows = conn.execute(
            """
            SELECT d.name, s.ord, k.path FROM codings c
            JOIN segments s ON s.id = c.segment_id JOIN documents d ON d.id = s.document_id
            JOIN codes k ON k.id = c.code_id
            WHERE c.coder = 'qualcode' AND c.status = 'suggested'
            """
        ).fetchall()
    finally:
        conn.close()
    return {(r[0], r[1], r[2]) for r in rows}


def add_coding(project_dir: Path, document: str, order: int, code: str, status: str,
               coder: str = "anna") -> None:  # fmt: skip
    """A person's coding, inserted the way the review commands store it."""
    seg = segment_ids(project_dir)[(document, order)]
    conn = connect(project_dir)
    try:
        code_id = conn.execute("SELECT id FROM codes WHERE path = ?", (code,)).fetchone()[0]
        conn.execute(
            "INSERT INTO codings (segment_id, code_id, coder, status, score, source, explanation,"
            " run_id, created_at, updated_at) VALUES (?, ?, ?, ?, NULL, 'review', ?, NULL,"
            " '2024-05-01T10:00:00+00:00', '2024-05-01T10:00:00+00:00')",
            (seg, code_id, coder, status, f"{coder}: {status} ✓ ë"),
        )
        conn.commit()
    finally:
        conn.close()


def read_csv_text(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def pipeline() -> Any:
    """The pipeline ``suggest`` uses (same ``lru_cache`` key, so spaCy loads once per run)."""
    from qualcode.nlp import load_pipeline
    from qualcode.store import DEFAULT_SETTINGS

    return load_pipeline(DEFAULT_SETTINGS["spacy_model"])


@cache
def lexical_for(codebook_text: str | None = None) -> Any:
    """A fitted LexicalSuggester for a codebook (YAML text, default coding.yaml) and the
    offline pipeline, with spaCy's Dutch vocabulary as the known words."""
    from qualcode.codebook import load_codebook, parse_codebook
    from qualcode.nlp import dutch_vocabulary
    from qualcode.suggest.lexical import LexicalSuggester

    book = (
        parse_codebook(textwrap.dedent(codebook_text))
        if codebook_text
        else load_codebook(CODING_YAML)
    )
    return LexicalSuggester().fit(book, pipeline(), dutch_vocabulary())


def lexical_match(text: str, codebook_text: str | None = None) -> dict[str, Any]:
    """code path → LexicalResult for ``text`` lemmatised by the offline pipeline."""
    from qualcode.nlp import tokens_of

    tokens = tokens_of(pipeline().nlp(text))
    return lexical_for(codebook_text).match(text, tokens)
