"""Measure suggestions against a human reference coding: precision, recall, F1, Cohen's kappa.

The reference is a CSV with one row per segment the reference coder coded:
``document,order,codes[,text]`` where ``order`` is the segment's number in its document (as in
``coded_segments.csv``), ``codes`` the full code paths separated by ``;`` (empty: the coder
looked at the segment and gave no code) and ``text`` optionally the start of the segment text,
checked to catch a reference made on another segmentation.

Codes roll up: a segment coded ``impact/sociaal/eenzaamheid`` counts for ``impact/sociaal`` and
``impact`` too. Each code is a binary decision over the reference segments.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from qualcode.codebook import Codebook
from qualcode.errors import QualcodeError, TranscriptError
from qualcode.ingest.encoding import read_csv_rows
from qualcode.ingest.metadata import document_key
from qualcode.models import MACHINE_CODER
from qualcode.segments import all_segments
from qualcode.store import Project


@dataclass(frozen=True)
class CodeScore:
    code: str
    depth: int
    support: int
    predicted: int
    true_positives: int
    precision: float
    recall: float
    f1: float
    kappa: float | None


@dataclass(frozen=True)
class LevelScore:
    level: str  # the parent whose children are averaged, "" for the top level
    codes: tuple[str, ...]
    macro_precision: float
    macro_recall: float
    macro_f1: float
    macro_kappa: float | None
    micro_f1: float


@dataclass(frozen=True)
class Evaluation:
    segments: int
    codes: list[CodeScore]
    levels: list[LevelScore]

    def level(self, name: str) -> LevelScore:
        for lv in self.levels:
            if lv.level == name:
                return lv
        raise KeyError(name)


def with_ancestors(paths: Iterable[str]) -> set[str]:
    out: set[str] = set()
    for path in paths:
        parts = path.strip("/").split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


def load_reference(
    path: str | Path, project: Project, book: Codebook | Collection[str], kind: str = "reference"
) -> dict[int, set[str]]:
    """segment id → reference codes (with ancestors). ``book`` is the codebook or the code
    paths a row may name; ``kind`` names the file in messages ("coder" for agreement)."""
    file = Path(path)
    if not file.exists() or file.is_dir():
        raise TranscriptError(file, f"{kind} file not found")
    rows = [r for r in read_csv_rows(file) if any(cell.strip() for cell in r)]
    header = [h.strip().lower() for h in rows[0]] if rows else []
    records = [dict(zip(header, r, strict=False)) for r in rows[1:]]
    for needed in ("document", "order", "codes"):
        if needed not in header:
            raise TranscriptError(
                file, f"no '{needed}' column", line=1, hint="columns: document,order,codes[,text]"
            )
    segments = {(document_key(s.document), s.order): s for s in all_segments(project)}
    known = book.by_path if isinstance(book, Codebook) else set(book)
    out: dict[int, set[str]] = {}
    seen: dict[int, int] = {}
    for line, row in enumerate(records, start=2):
        doc = document_key(row.get("document") or "")
        try:
            order = int(row.get("order") or "")
        except (TypeError, ValueError):
            raise TranscriptError(file, "'order' must be a segment number", line=line) from None
        segment = segments.get((doc, order))
        if segment is None:
            raise TranscriptError(file, f"no segment {order} in document '{doc}'", line=line)
        start = (row.get("text") or "").strip()
        if start and not _same_start(segment.text, start):
            raise TranscriptError(
                file,
                f"segment {order} of '{doc}' does not start with the reference text",
                line=line,
                hint="the reference was made on another segmentation (--unit)",
            )
        codes = {c.strip().strip("/") for c in re.split(r"[;|]", row.get("codes") or "")}
        codes.discard("")
        unknown = sorted(c for c in codes if c not in known)
        if unknown:
            raise TranscriptError(file, f"unknown code '{unknown[0]}'", line=line)
        if segment.id in seen:
            raise TranscriptError(
                file, f"segment {order} of '{doc}' is already on line {seen[segment.id]}", line=line
            )
        seen[segment.id] = line
        out[segment.id] = with_ancestors(codes)
    if not out:
        raise TranscriptError(
            file,
            f"the {kind} has no rows" if kind == "reference" else f"the {kind} file has no rows",
        )
    return out


def _same_start(text: str, start: str) -> bool:
    norm = lambda s: " ".join(s.split()).lower().rstrip(".…")  # noqa: E731
    return norm(text).startswith(norm(start)[:40])


def machine_codings(
    project: Project,
    coder: str = MACHINE_CODER,
    statuses: Iterable[str] = ("suggested",),
    min_score: float | None = None,
) -> dict[int, set[str]]:
    """segment id → a coder's codes with these statuses (with ancestors); ``min_score`` keeps
    only suggestions scored at least that (a stricter threshold than the stored one)."""
    statuses = tuple(statuses)
    marks = ",".join("?" * len(statuses))
    above = " AND c.score >= ?" if min_score is not None else ""
    rows = project.conn.execute(
        f"SELECT c.segment_id, k.path FROM codings c JOIN codes k ON k.id = c.code_id"
        f" WHERE c.coder = ? AND c.status IN ({marks}){above}",
        (coder, *statuses, *(() if min_score is None else (min_score,))),
    ).fetchall()
    out: dict[int, set[str]] = {}
    for r in rows:
        out.setdefault(r["segment_id"], set()).add(r["path"])
    return {k: with_ancestors(v) for k, v in out.items()}


def cohen_kappa(tp: int, fp: int, fn: int, tn: int) -> float | None:
    """Cohen's kappa of two raters' yes/no decisions from their 2×2 table (None: undefined)."""
    n = tp + fp + fn + tn
    if n == 0:
        return None
    observed = (tp + tn) / n
    expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    if math.isclose(expected, 1.0):
        return None  # both raters constant: kappa is undefined
    return (observed - expected) / (1 - expected)


def score(
    reference: Mapping[int, set[str]], predicted: Mapping[int, set[str]], book: Codebook
) -> Evaluation:
    units = sorted(reference)
    scores: list[CodeScore] = []
    for code in book.walk():
        tp = fp = fn = tn = 0
        for unit in units:
            r = code.path in reference[unit]
            p = code.path in predicted.get(unit, set())
            tp += r and p
            fp += p and not r
            fn += r and not p
            tn += not r and not p
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores.append(
            CodeScore(
                code.path,
                code.depth,
                tp + fn,
                tp + fp,
                tp,
                precision,
                recall,
                f1,
                cohen_kappa(tp, fp, fn, tn),
            )
        )
    by_path = {s.code: s for s in scores}
    levels = []
    groups = [("", [c.path for c in book.codes])] + [
        (c.path, [ch.path for ch in c.children]) for c in book.walk() if c.children
    ]
    for level, paths in groups:
        used = [by_path[p] for p in paths if by_path[p].support > 0]
        if not used:
            continue
        kappas = [s.kappa for s in used if s.kappa is not None]
        tp = sum(s.true_positives for s in used)
        pred = sum(s.predicted for s in used)
        sup = sum(s.support for s in used)
        micro = 2 * tp / (pred + sup) if pred + sup else 0.0
        levels.append(
            LevelScore(
                level,
                tuple(s.code for s in used),
                sum(s.precision for s in used) / len(used),
                sum(s.recall for s in used) / len(used),
                sum(s.f1 for s in used) / len(used),
                sum(kappas) / len(kappas) if kappas else None,
                micro,
            )
        )
    return Evaluation(len(units), scores, levels)


def keyword_baseline(book: Codebook, segments: Iterable[tuple[int, str]]) -> dict[int, set[str]]:
    """Plain keyword search, as the lexical autocode of commercial QDA tools does it:
    case-insensitive whole-word match of the same words (keywords and context words alike:
    those tools know no difference), no lemmas, no compounds, no negation, no patterns."""
    compiled = [
        (code.path, re.compile(r"(?<!\w)" + re.escape(k.lstrip("=").lower()) + r"(?!\w)"))
        for code in book.walk()
        for k in (*code.keywords, *code.context)
    ]
    out: dict[int, set[str]] = {}
    for seg_id, text in segments:
        lower = text.lower()
        hits = {path for path, rx in compiled if rx.search(lower)}
        if hits:
            out[seg_id] = with_ancestors(hits)
    return out


def evaluate(
    project: Project,
    reference: str | Path,
    *,
    codebook: str | Path | None = None,
    baseline: bool = False,
    coder: str = MACHINE_CODER,
) -> Evaluation:
    """Score the project's suggestions (or a coder's codings, or the keyword baseline)."""
    from qualcode.codes import resolve_codebook

    book = resolve_codebook(project, codebook)
    ref = load_reference(reference, project, book)
    if baseline:
        texts = [(s.id, s.text) for s in all_segments(project) if s.id in ref]
        predicted = keyword_baseline(book, texts)
    else:
        statuses = ("suggested",) if coder == MACHINE_CODER else ("accepted", "manual")
        predicted = machine_codings(project, coder, statuses)
        if not predicted and coder == MACHINE_CODER:
            raise QualcodeError(
                "this project has no suggestions yet", "run 'qualcode suggest' first"
            )
    return score(ref, predicted, book)
