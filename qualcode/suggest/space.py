"""The similarity space ``suggest`` keeps between runs, and every segment's vector in it.

Fitting the TF-IDF + SVD space is the one step of scoring that needs the whole corpus. It is
stored in the project (``similarity_spaces``: vocabulary, idf weights, SVD components and the
codebook's profile vectors, as a numpy archive) with each segment's vector
(``segment_vectors``). A later run folds new segments into the stored space, so adding one
transcript to a large project does not refit it, and refits when

- the codebook's definitions or examples, the pipeline or the embedding model changed (the
  fingerprint), or
- the passages changed by more than ``REFIT_SHARE`` of those the space was fitted on, so a
  growing study keeps a space that reflects its own words, or
- the caller asks (``qualcode suggest --refit``).

Folding in is what makes re-runs cheap, at a price: after small additions the scores can differ
slightly from those of a project built in one go (the new transcripts' words are not yet in
the vocabulary). ``--refit`` gives the one-go result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qualcode.store import now

if TYPE_CHECKING:
    from qualcode.store import Project
    from qualcode.suggest.similarity import ProfilePart, SimilaritySuggester

REFIT_SHARE = 0.1


@dataclass(frozen=True)
class SpaceReport:
    refitted: bool
    folded_in: int  # segments placed in a stored space


def fingerprint(pipeline: str, parts: Sequence[ProfilePart], suggester: SimilaritySuggester) -> str:
    from qualcode.suggest.features import code_digest

    blob = json.dumps(
        [
            code_digest("qualcode.suggest.similarity", "qualcode.suggest.space"),
            pipeline,
            suggester.embedding_model,
            suggester.n_components,
            suggester.random_state,
            [[p.code, p.kind, p.number, p.text] for p in parts],
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def fitted(
    project: Project,
    suggester: SimilaritySuggester,
    pipeline: str,
    segment_ids: Sequence[int],
    segment_lemmas: Sequence[str],
    segment_texts: Sequence[str],
    parts: Sequence[ProfilePart],
    part_lemmas: Callable[[], Sequence[str]],
    *,
    refit: bool = False,
) -> SpaceReport:
    """Give ``suggester`` a space and the vector of every segment: the stored one where it
    still fits (see the module), else a new fit, which is then stored. ``pipeline`` is the
    pipeline's name; ``part_lemmas`` gives the profile parts' lemmas, needed only to refit."""
    import numpy as np

    key = fingerprint(pipeline, parts, suggester)
    stored = project.conn.execute(
        "SELECT segments, data FROM similarity_spaces WHERE fingerprint = ?", (key,)
    ).fetchone()
    if stored is not None and not refit:
        vectors, in_fit = _stored_vectors(project, key, set(segment_ids))
        new = [n for n, sid in enumerate(segment_ids) if sid not in vectors]
        # passages added or removed since the fit, over all the runs that folded some in
        changes = len(new) + (len(vectors) - in_fit) + (stored[0] - in_fit)
        if changes <= REFIT_SHARE * stored[0] and _loaded(suggester, stored[1], parts):
            added = {}
            if new:
                fresh = suggester.transform(
                    [segment_lemmas[n] for n in new], [segment_texts[n] for n in new]
                )
                added = {segment_ids[n]: fresh[i] for i, n in enumerate(new)}
                with project.transaction() as conn:
                    _store_vectors(conn, key, added, fitted=False)
            vectors.update(added)
            width = suggester.part_vectors_.shape[1]
            suggester.segment_vectors_ = (
                np.vstack([vectors[sid] for sid in segment_ids])
                if segment_ids
                else np.zeros((0, width))
            )
            return SpaceReport(False, len(new))
    suggester.fit(segment_lemmas, part_lemmas(), parts, segment_texts)
    with project.transaction() as conn:
        conn.execute("DELETE FROM similarity_spaces")
        conn.execute("DELETE FROM segment_vectors")
        conn.execute(
            "INSERT INTO similarity_spaces (fingerprint, segments, created_at, data)"
            " VALUES (?, ?, ?, ?)",
            (key, len(segment_ids), now(), suggester.to_bytes()),
        )
        _store_vectors(conn, key, dict(zip(segment_ids, suggester.segment_vectors_, strict=True)))
    return SpaceReport(True, 0)


def _loaded(suggester: SimilaritySuggester, data: bytes, parts: Sequence[ProfilePart]) -> bool:
    """Load a stored space; False when it cannot be read (a damaged or foreign blob): it is
    derived data, so the caller fits a new one instead of failing."""
    import zipfile

    try:
        suggester.load(data, parts)
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile):
        return False
    return True


def _stored_vectors(project: Project, key: str, wanted: set[int]) -> tuple[dict[int, Any], int]:
    """The stored vectors of ``wanted`` segments, and how many of them were in the fit."""
    import numpy as np

    rows = project.conn.execute(
        "SELECT segment_id, fitted, vector FROM segment_vectors WHERE space = ?", (key,)
    )
    vectors, in_fit = {}, 0
    for sid, was_fitted, blob in rows:
        if sid in wanted:
            vectors[sid] = np.frombuffer(blob, dtype=np.float64)
            in_fit += bool(was_fitted)
    return vectors, in_fit


def _store_vectors(conn: Any, key: str, vectors: dict[int, Any], *, fitted: bool = True) -> None:
    import numpy as np

    conn.executemany(
        "INSERT OR REPLACE INTO segment_vectors (segment_id, space, fitted, vector)"
        " VALUES (?, ?, ?, ?)",
        [
            (sid, key, int(fitted), np.ascontiguousarray(v, dtype=np.float64).tobytes())
            for sid, v in vectors.items()
        ],
    )
