"""What ``suggest`` keeps per segment between runs: its lexical matches and content lemmas.

A segment's keyword, compound and pattern matches depend only on its own tokens and on the
lexical part of the codebook (keywords, context words, patterns, the matcher's rules), so they
are computed once and stored in ``segment_features`` under a fingerprint of that part. A re-run
after adding a transcript matches only the new segments; a codebook change that touches no
keyword or pattern (a definition, an example, a label) matches nothing again.

Segments without stored tokens are tokenised in the same pass, so a fresh project goes through
spaCy and the matcher once. Large batches are spread over the machine's cores with forked
worker processes (Linux), which inherit the loaded pipeline and the fitted matcher.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.nlp import (
    Pipeline,
    Token,
    decoded_or_none,
    encode_tokens,
    store_tokens,
    tokens_of,
)

if TYPE_CHECKING:
    from qualcode.codebook import Codebook
    from qualcode.models import Segment
    from qualcode.store import Project
    from qualcode.suggest.lexical import LexicalSuggester

# The code whose results segment_features holds (lemma_text lives in similarity.py).
MATCHER_MODULES = (
    "qualcode.nlp",
    "qualcode.suggest.lexical",
    "qualcode.suggest.compounds",
    "qualcode.suggest.inflection",
    "qualcode.suggest.similarity",
)
# Below this many passages the start-up of worker processes costs more than it saves.
PARALLEL_MIN_SEGMENTS = 400
CHUNK = 200
WRITE_BATCH = 2000


@dataclass(frozen=True)
class Features:
    lemmas: str  # content lemmas, space separated (similarity and learning input)
    lexical: dict[str, tuple[float, str]]  # code path -> (score, explanation)


def code_digest(*modules: str) -> str:
    """A digest of the source of qualcode modules: stored results computed by code that has
    changed since (an update of qualcode) are computed again, with no version to remember."""
    import importlib.util

    digest = hashlib.sha256()
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            digest.update(Path(spec.origin).read_bytes())
    return digest.hexdigest()[:16]


def lexical_fingerprint(codebook: Codebook, pipeline: str, weights: dict[str, float]) -> str:
    """Changes exactly when stored lexical matches may no longer be right: another codebook
    (keywords, context words, patterns), pipeline (its tokens and lemmas were matched; the name
    holds spaCy's version), word list for compounds, or matcher code."""
    from importlib.metadata import version

    parts: list[Any] = [
        code_digest(*MATCHER_MODULES),
        pipeline,
        version("spacy-lookups-data"),
        sorted(weights.items()),
    ]
    for code in codebook.walk():
        parts.append(
            [
                code.path,
                list(code.keywords),
                list(code.context),
                [[p.id, p.pattern, p.effect] for p in code.patterns],
            ]
        )
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


# -- computing ---------------------------------------------------------------------------------

# Set in the parent before the workers fork, so that they inherit it instead of pickling it.
_WORKER: tuple[Pipeline, LexicalSuggester] | None = None


def _analyse(
    pipeline: Pipeline,
    lexical: LexicalSuggester,
    items: Sequence[tuple[str, str | None]],
) -> list[tuple[str | None, str, dict[str, tuple[float, str]]]]:
    """For (text, stored tokens or None): (new tokens or None, content lemmas, matches).
    Stored tokens that cannot be decoded (damaged) are made again, like missing ones."""
    from qualcode.suggest.similarity import lemma_text

    decoded = [decoded_or_none(stored, text) if stored else None for text, stored in items]
    fresh = [n for n, tokens in enumerate(decoded) if tokens is None]
    docs = iter(pipeline.nlp.pipe([items[n][0] for n in fresh], batch_size=256)) if fresh else None
    out = []
    for (text, _), tokens in zip(items, decoded, strict=True):
        encoded: str | None = None
        if tokens is None:
            assert docs is not None
            tokens = tokens_of(next(docs))
            encoded = encode_tokens(tokens)
        out.append((encoded, lemma_text(tokens), matches_of(lexical, text, tokens)))
    return out


def matches_of(
    lexical: LexicalSuggester, text: str, tokens: Sequence[Token]
) -> dict[str, tuple[float, str]]:
    """A passage's lexical evidence as kept: code path -> (score, explanation)."""
    return {code: (r.score, r.explanation) for code, r in lexical.match(text, tokens).items()}


def _analyse_in_worker(
    items: Sequence[tuple[str, str | None]],
) -> list[tuple[str | None, str, dict[str, tuple[float, str]]]]:
    assert _WORKER is not None
    return _analyse(*_WORKER, items)


def worker_count(n_items: int) -> int:
    """Processes worth starting for ``n_items`` passages: 1 unless the batch is large and this
    system forks cheaply (Linux); at most the cores this process may use."""
    if n_items < PARALLEL_MIN_SEGMENTS or not sys.platform.startswith("linux"):
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def analyse(
    pipeline: Pipeline,
    lexical: LexicalSuggester,
    items: Sequence[tuple[str, str | None]],
    *,
    workers: int | None = None,
    done: Callable[[int], None] | None = None,
) -> Iterator[tuple[str | None, str, dict[str, tuple[float, str]]]]:
    """Tokens (when not stored), content lemmas and lexical matches of every item, in order;
    with ``workers`` > 1 (default: :func:`worker_count`) in forked processes."""
    global _WORKER
    workers = worker_count(len(items)) if workers is None else workers
    chunks = _chunks(items, CHUNK)
    if workers <= 1:
        for chunk in chunks:
            yield from _analyse(pipeline, lexical, chunk)
            if done:
                done(len(chunk))
        return
    import multiprocessing

    _WORKER = (pipeline, lexical)
    try:
        try:
            pool = multiprocessing.get_context("fork").Pool(workers)
        except OSError:  # no processes to be had (a limit, a sandbox): do it here
            yield from analyse(pipeline, lexical, items, workers=1, done=done)
            return
        with pool:
            for result in pool.imap(_analyse_in_worker, chunks):
                yield from result
                if done:
                    done(len(result))
    finally:
        _WORKER = None


# -- storing -----------------------------------------------------------------------------------


def stored(project: Project, segments: Sequence[Segment], fingerprint: str) -> dict[int, Features]:
    """The stored features of those ``segments`` that have them for this fingerprint. A row
    that cannot be read (damaged) is left out: :func:`update` computes it again."""
    wanted = {s.id for s in segments}
    out = {}
    rows = project.conn.execute(
        "SELECT segment_id, lemmas, lexical FROM segment_features WHERE fingerprint = ?",
        (fingerprint,),
    )
    for segment_id, lemmas, lexical in rows:
        if segment_id not in wanted:
            continue
        try:
            matches = {code: (score, why) for code, (score, why) in json.loads(lexical).items()}
        except (ValueError, TypeError, AttributeError):
            continue
        if isinstance(lemmas, str):
            out[segment_id] = Features(lemmas, matches)
    return out


@dataclass(frozen=True)
class Updated:
    """What :func:`update` computed (and stored)."""

    tokenised: int  # passages that had no usable stored tokens
    features: dict[int, Features]  # segment id -> its features, as stored


def update(
    project: Project,
    pipeline: Pipeline,
    lexical: LexicalSuggester,
    todo: Sequence[Segment],
    fingerprint: str,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Updated:
    """Compute and store the features of ``todo`` for ``fingerprint`` (those :func:`stored`
    does not give), and the tokens of those that have none yet (or damaged ones); returns
    the features and how many passages were tokenised.

    Written in batches, one transaction each: an interrupted run keeps what it finished.
    """
    computed: dict[int, Features] = {}
    if not todo:
        return Updated(0, computed)
    stored = _stored_tokens(project, pipeline, todo)
    items = [(s.text, stored.get(s.id)) for s in todo]
    tokenised = 0
    counted = [0]

    def done(n: int) -> None:
        counted[0] += n
        if progress:
            progress(counted[0], len(todo))

    nlp_rows: list[tuple[int, str, str]] = []
    feature_rows: list[tuple[int, str, str, str]] = []
    results = analyse(pipeline, lexical, items, workers=workers, done=done)
    for segment, (encoded, lemmas, matches) in zip(todo, results, strict=True):
        if encoded is not None:
            tokenised += 1
            nlp_rows.append((segment.id, pipeline.name, encoded))
        computed[segment.id] = Features(lemmas, matches)
        feature_rows.append(
            (segment.id, fingerprint, lemmas, json.dumps(matches, ensure_ascii=False))
        )
        if len(feature_rows) >= WRITE_BATCH:
            _write(project, nlp_rows, feature_rows)
            nlp_rows, feature_rows = [], []
    _write(project, nlp_rows, feature_rows)
    return Updated(tokenised, computed)


def _stored_tokens(
    project: Project, pipeline: Pipeline, segments: Sequence[Segment]
) -> dict[int, str]:
    """The stored tokens of just these segments: a re-run that adds one transcript to a large
    study reads its tokens, not everyone's."""
    ids = [s.id for s in segments]
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):  # SQLite limits the number of ? in one statement
        batch = ids[start : start + 500]
        marks = ",".join("?" * len(batch))
        found.update(
            project.conn.execute(
                f"SELECT segment_id, tokens FROM segment_nlp WHERE pipeline = ?"
                f" AND segment_id IN ({marks})",
                (pipeline.name, *batch),
            ).fetchall()
        )
    return found


def _write(
    project: Project,
    nlp_rows: Sequence[tuple[int, str, str]],
    feature_rows: Sequence[tuple[int, str, str, str]],
) -> None:
    if not nlp_rows and not feature_rows:
        return
    with project.transaction() as conn:
        store_tokens(conn, nlp_rows)
        conn.executemany(
            "INSERT OR REPLACE INTO segment_features (segment_id, fingerprint, lemmas, lexical)"
            " VALUES (?, ?, ?, ?)",
            feature_rows,
        )


def clear(conn: Any) -> None:
    """Forget every stored feature and similarity space: they hold words of the transcripts,
    so pseudonymising drops them, and the next ``suggest`` computes them again."""
    for table in ("segment_features", "segment_vectors", "similarity_spaces"):
        conn.execute(f"DELETE FROM {table}")
