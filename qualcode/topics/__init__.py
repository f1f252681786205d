"""New themes: topics found in the coded passages with BERTopic, stored, shown, promoted.

``fit_topics`` is what ``qualcode topics`` calls. It

1. takes the coded units (never interviewer/moderator turns) as whole segments or as
   sentences, with their stored lemmas; passages with too few content words are left out,
2. embeds them offline (:mod:`qualcode.topics.model`), clusters them with UMAP + HDBSCAN
   (settings that adapt to the size of the study, a fixed seed) and lets BERTopic name each
   topic with its c-TF-IDF words over the lemmas,
3. per topic: a label, the passages nearest its centre (the representative ones) and the
   nearest code of the codebook (cosine between the topic's centre and each code's label,
   definition, examples and keywords in the same space), or "nieuw thema" when none is close,
4. stores the run, its topics and their passages in one transaction.

``stored_topics`` reads them back; ``promote_topic`` turns a topic into a code.
"""

from __future__ import annotations

from collections.abc import Sequence
from time import perf_counter
from typing import Any

from qualcode.codebook import Code, Codebook
from qualcode.store import Project
from qualcode.topics.promote import PromoteReport, promote_topic
from qualcode.topics.results import (
    GIANT_SHARE,
    NEW_THEME,
    NEW_THEME_BELOW,
    REPRESENTATIVES,
    Passage,
    Topic,
    TopicsResult,
    TopicWord,
)
from qualcode.topics.storage import TopicRecord, save_topics, stored_topics
from qualcode.topics.units import MIN_CONTENT_LEMMAS, TOPIC_UNITS, TopicUnit, topic_units

__all__ = [
    "NEW_THEME",
    "NEW_THEME_BELOW",
    "TOPIC_UNITS",
    "Passage",
    "PromoteReport",
    "Topic",
    "TopicWord",
    "TopicsResult",
    "fit_topics",
    "promote_topic",
    "stored_topics",
]

# Words in a topic's label: enough to tell topics apart, short enough to read at a glance.
LABEL_WORDS = 4


def topic_label(words: Sequence[tuple[Any, ...]], size: int = LABEL_WORDS) -> str:
    """The best words, each shown once: a word or phrase that repeats one already chosen is
    skipped ('dicht, anderhalve meter, deur', not 'meter, anderhalve meter, anderhalve')."""
    chosen: list[str] = []
    for word, *_ in words:
        parts = set(word.split())
        if any(parts & set(c.split()) for c in chosen):
            continue
        chosen.append(word)
        if len(chosen) == size:
            break
    return ", ".join(chosen)


def _profile_text(code: Code) -> str:
    return " ".join([code.label, code.definition, *code.examples, *code.keywords])


def project_codebook(project: Project) -> Codebook | None:
    """The codebook the project is coded with (its file plus promoted codes), if it has one.
    Finding themes needs no codebook; without one, every topic is a new theme."""
    from qualcode.codes import resolve_codebook

    if not project.settings().get("codebook"):
        return None
    return resolve_codebook(project)


def _normalised(vector: Any) -> Any:
    import numpy as np

    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def _topic_records(
    units: Sequence[TopicUnit],
    labels: Sequence[int],
    probabilities: Sequence[float],
    words: dict[int, list[tuple[str, float, float]]],
    embeddings: Any,
    profiles: Any,
    code_paths: Sequence[str],
) -> list[TopicRecord]:
    import numpy as np

    records = []
    for number in sorted(words):
        idx = [i for i, label in enumerate(labels) if label == number]
        centre = _normalised(np.asarray(embeddings[idx]).mean(axis=0))
        closeness = np.asarray(embeddings[idx]) @ centre
        # most representative: nearest the centre; ties keep transcript order
        order = sorted(range(len(idx)), key=lambda k: (-round(float(closeness[k]), 6), idx[k]))
        rank = {k: n for n, k in enumerate(order[:REPRESENTATIVES], start=1)}
        nearest, similarity = None, None
        if len(code_paths):
            sims = np.asarray(profiles) @ centre
            best = int(np.argmax(sims))
            nearest, similarity = code_paths[best], round(float(sims[best]), 4)
        records.append(
            TopicRecord(
                number=number,
                label=topic_label(words[number]),
                words=[(w, round(s, 4), round(share, 4)) for w, s, share in words[number]],
                nearest_code=nearest,
                similarity=similarity,
                members=[
                    (units[idx[k]], round(float(probabilities[idx[k]]), 4), rank.get(k))
                    for k in order
                ],
            )
        )
    return records


def fit_topics(
    project: Project, *, min_size: int | None = None, unit: str = "segment"
) -> TopicsResult:
    """Find topics in the project's coded passages and store them as a new topics run."""
    from qualcode.errors import QualcodeError
    from qualcode.nlp import annotate_segments, load_pipeline, tokens_of
    from qualcode.segments import coded_units
    from qualcode.suggest import load_tokens
    from qualcode.suggest.similarity import lemma_text
    from qualcode.topics.model import fit_model, model_params

    if unit not in TOPIC_UNITS:
        raise QualcodeError(f"unknown unit '{unit}'", f"use one of: {', '.join(TOPIC_UNITS)}")
    started = perf_counter()
    settings = project.settings()
    pipeline = load_pipeline(settings.get("spacy_model"))
    annotate_segments(project, pipeline)
    segments = coded_units(project)
    all_units = topic_units(segments, load_tokens(project, pipeline, segments), unit)
    units = [u for u in all_units if u.content_words >= MIN_CONTENT_LEMMAS]
    params = model_params(len(units), min_size)

    book = project_codebook(project)
    codes = list(book.walk()) if book else []
    profile_texts = [_profile_text(c) for c in codes]
    profile_lemmas = [lemma_text(tokens_of(doc)) for doc in pipeline.nlp.pipe(profile_texts)]
    prepare = perf_counter() - started  # lemmas of new passages and of the codebook
    fitted = fit_model(
        [u.lemmas for u in units],
        [u.text for u in units],
        params,
        profile_lemmas=profile_lemmas,
        profile_texts=profile_texts,
        embedding_model=settings.get("embedding_model"),
    )
    start = perf_counter()
    records = _topic_records(
        units,
        fitted.labels,
        fitted.probabilities,
        fitted.words,
        fitted.embeddings,
        fitted.profile_embeddings,
        [c.path for c in codes],
    )
    fitted.seconds["representation"] += perf_counter() - start

    warnings = []
    clustered = sum(1 for label in fitted.labels if label != -1)
    if not records:
        warnings.append("no topics found: every passage is an outlier; try a smaller --min-size")
    else:
        largest = max(records, key=lambda r: len(r.members))
        if len(records) == 1 or len(largest.members) > GIANT_SHARE * clustered:
            warnings.append(
                f"topic {largest.number} holds {len(largest.members)} of the {clustered} "
                "passages with a topic: try a smaller --min-size to split it"
            )
    seconds = {k: round(v, 3) for k, v in {"prepare": prepare, **fitted.seconds}.items()}
    seconds["total"] = round(perf_counter() - started, 3)
    run_id = save_topics(
        project,
        records,
        params={"unit": unit, "min_size": min_size},
        summary={
            "passages": len(units),
            "too_short": len(all_units) - len(units),
            "outliers": len(fitted.labels) - clustered,
            "topics": len(records),
            "model": params.to_dict(),
            "embedding": fitted.embedding,
            "codebook": book.file if book else None,
            "seconds": seconds,
            "warnings": warnings,
        },
    )
    return stored_topics(project, run_id)
