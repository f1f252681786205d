"""Topics in the project database: one 'topics' run, its topics and their passages.

``runs.params`` holds what was asked (unit, --min-size), ``runs.summary`` what was chosen and
measured (UMAP/HDBSCAN settings, counts, the time of each step); the tables ``topics`` and
``topic_members`` (migration ``002_topics``) hold the topics. Earlier runs are kept: a
re-fit adds a run, and ``stored_topics`` reads the latest one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.store import Project
from qualcode.topics.results import Passage, Topic, TopicsResult, TopicWord, speaker_name
from qualcode.topics.units import TopicUnit

COMMAND = "topics"


@dataclass
class TopicRecord:
    """A topic as a fit produced it, before it is stored."""

    number: int
    label: str
    words: list[tuple[str, float, float]]  # word, c-TF-IDF weight, share (see model.py)
    nearest_code: str | None
    similarity: float | None
    # (passage, probability, rank among the representatives or None), best first
    members: list[tuple[TopicUnit, float, int | None]] = field(default_factory=list)


def save_topics(
    project: Project,
    records: Sequence[TopicRecord],
    *,
    params: dict[str, Any],
    summary: dict[str, Any],
) -> int:
    """Store one run and its topics in one transaction; returns the run id."""
    with project.transaction() as conn:
        run_id = project.start_run(COMMAND, params)
        for record in records:
            cur = conn.execute(
                "INSERT INTO topics (run_id, number, label, words, size, nearest_code,"
                " similarity) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    record.number,
                    record.label,
                    json.dumps(record.words, ensure_ascii=False),
                    len(record.members),
                    record.nearest_code,
                    record.similarity,
                ),
            )
            conn.executemany(
                "INSERT INTO topic_members (topic_id, segment_id, sentence, start, end,"
                " probability, rank) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (cur.lastrowid, u.segment.id, u.sentence, u.start, u.end, prob, rank)
                    for u, prob, rank in record.members
                ],
            )
        project.finish_run(run_id, summary)
    return run_id


def _run_row(project: Project, run_id: int | None) -> Any:
    if run_id is None:
        row = project.conn.execute(
            "SELECT * FROM runs WHERE command = ? AND finished_at IS NOT NULL"
            " ORDER BY id DESC LIMIT 1",
            (COMMAND,),
        ).fetchone()
        if row is None:
            raise QualcodeError(
                f"{project.path}: no topics found in this project yet",
                f"find them with 'qualcode topics --project {project.path}'",
            )
        return row
    row = project.conn.execute(
        "SELECT * FROM runs WHERE command = ? AND id = ?", (COMMAND, run_id)
    ).fetchone()
    if row is None:
        raise QualcodeError(f"{project.path}: no topics run {run_id}")
    return row


_MEMBERS_SQL = """
    SELECT t.number, m.sentence, m.probability, m.rank, d.name AS document,
           sp.label AS speaker, sp.role, s.ord,
           substr(d.text, s.start + m.start + 1, m.end - m.start) AS text
    FROM topic_members m
    JOIN topics t ON t.id = m.topic_id
    JOIN segments s ON s.id = m.segment_id
    JOIN documents d ON d.id = s.document_id
    JOIN turns tu ON tu.id = s.turn_id
    JOIN speakers sp ON sp.id = tu.speaker_id
    WHERE t.run_id = ?
"""


def _counts(pairs: list[str]) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for name in pairs:
        counts[name] = counts.get(name, 0) + 1
    return tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def stored_topics(project: Project, run_id: int | None = None) -> TopicsResult:
    """The topics of the latest topics run (or of ``run_id``), as stored."""
    run = _run_row(project, run_id)
    params = json.loads(run["params"])
    summary = json.loads(run["summary"])
    members: dict[int, list[Any]] = {}
    for row in project.conn.execute(_MEMBERS_SQL, (run["id"],)):
        members.setdefault(row["number"], []).append(row)
    topics = []
    for row in project.conn.execute(
        "SELECT t.*, c.path AS promoted FROM topics t LEFT JOIN codes c"
        " ON c.id = t.promoted_code_id WHERE t.run_id = ? ORDER BY t.number",
        (run["id"],),
    ):
        rows = members.get(row["number"], [])
        best = sorted((r for r in rows if r["rank"] is not None), key=lambda r: r["rank"])
        topics.append(
            Topic(
                number=row["number"],
                label=row["label"],
                words=tuple(TopicWord(*w) for w in json.loads(row["words"])),
                size=row["size"],
                representatives=tuple(
                    Passage(
                        f"{r['document']}#{r['ord']}",
                        r["document"],
                        r["speaker"],
                        r["role"],
                        r["text"].strip(),
                        r["probability"],
                        r["sentence"],
                    )
                    for r in best
                ),
                documents=_counts([r["document"] for r in rows]),
                speakers=_counts(
                    [speaker_name(r["document"], r["speaker"], r["role"]) for r in rows]
                ),
                nearest_code=row["nearest_code"],
                similarity=row["similarity"],
                promoted_code=row["promoted"],
            )
        )
    return TopicsResult(
        run_id=run["id"],
        finished_at=run["finished_at"],
        unit=params.get("unit", "segment"),
        passages=summary.get("passages", 0),
        too_short=summary.get("too_short", 0),
        outliers=summary.get("outliers", 0),
        topics=topics,
        params=summary.get("model", {}),
        embedding=summary.get("embedding", ""),
        seconds=summary.get("seconds", {}),
        codebook=summary.get("codebook"),
        warnings=summary.get("warnings", []),
    )
