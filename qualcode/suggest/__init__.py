"""Code suggestions: lexical and similarity evidence combined into one score per code.

``suggest`` is what ``qualcode suggest`` calls. It

1. syncs the project's codes with the codebook,
2. tokenises/lemmatises segments that have no stored tokens yet (once per segment),
3. scores every coded-unit segment (never interviewer/moderator turns) with the lexical and
   the similarity suggester and combines them: ``1 - (1 - lexical) * (1 - w * similarity)``,
4. keeps the most specific codes: a sub-code implies its parent, so a parent suggested on the
   same segment as one of its children is not stored twice,
5. replaces the machine's earlier suggestions for the codes in scope in one transaction.

A person's codings (accepted, rejected, manual) are separate rows and are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qualcode.codebook import Codebook
from qualcode.codes import code_ids, resolve_codebook, sync_codes
from qualcode.models import MACHINE_CODER, Segment
from qualcode.nlp import Pipeline, Token, annotate_segments, decode_tokens, load_pipeline
from qualcode.segments import coded_units
from qualcode.store import Project, now

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Suggestion:
    segment_id: int
    code: str
    score: float
    source: str
    explanation: str
    lexical: float = 0.0
    similarity: float = 0.0


@dataclass
class SuggestReport:
    run_id: int
    pipeline: str
    threshold: float
    segments: int
    suggestions: int
    per_top_code: dict[str, int] = field(default_factory=dict)
    annotated: int = 0
    codes_added: int = 0
    codes_kept: list[str] = field(default_factory=list)
    codebook_warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScoringConfig:
    threshold: float = 0.5
    similarity_weight: float = 0.75
    # Similarity alone (no keyword at all) must be this strong to suggest a code.
    min_similarity_alone: float = 0.8
    # Similarity below this is too weak to be worth mentioning as a reason.
    explain_similarity: float = 0.3
    # A passage with fewer content words than this is too short for similarity to mean much,
    # unless it is a near copy of an example (cosine at least near_copy).
    min_similarity_words: int = 8
    near_copy: float = 0.85


def load_tokens(
    project: Project, pipeline: Pipeline, segments: Sequence[Segment]
) -> list[list[Token]]:
    rows = dict(
        project.conn.execute(
            "SELECT segment_id, tokens FROM segment_nlp WHERE pipeline = ?", (pipeline.name,)
        ).fetchall()
    )
    return [decode_tokens(rows[s.id], s.text) if s.id in rows else [] for s in segments]


def score_segments(
    codebook: Codebook,
    pipeline: Pipeline,
    segments: Sequence[Segment],
    tokens: Sequence[Sequence[Token]],
    config: ScoringConfig,
    *,
    scope: set[str] | None = None,
    embedding_model: str | None = None,
) -> list[Suggestion]:
    """Score every segment against every code; returns suggestions above the threshold."""
    from qualcode.nlp import dutch_vocabulary, tokens_of
    from qualcode.suggest.lexical import LexicalSuggester
    from qualcode.suggest.similarity import SimilaritySuggester, lemma_text, profile_parts

    corpus_words = {t.lower for toks in tokens for t in toks if t.lower.isalpha()}
    lexical = LexicalSuggester().fit(codebook, pipeline, dutch_vocabulary(pipeline) | corpus_words)

    parts = [p for code in codebook.walk() if code.is_leaf for p in profile_parts(code)]
    part_lemmas = [lemma_text(tokens_of(doc)) for doc in pipeline.nlp.pipe([p.text for p in parts])]
    segment_lemmas = [lemma_text(t) for t in tokens]
    content_words = [len(text.split()) for text in segment_lemmas]
    similarity = SimilaritySuggester(embedding_model=embedding_model).fit(
        segment_lemmas, part_lemmas, parts, [s.text for s in segments]
    )
    sim_codes, sim_best, sim_part = similarity.best_matches()

    out: list[Suggestion] = []
    for n, (segment, toks) in enumerate(zip(segments, tokens, strict=True)):
        lex = lexical.match(segment.text, toks)
        candidates: dict[str, Suggestion] = {}
        short = content_words[n] < config.min_similarity_words
        for c, code in enumerate(sim_codes):
            cosine = float(sim_best[n, c])
            sim = 0.0 if short and cosine < config.near_copy else similarity.scale(cosine)
            lex_result = lex.get(code)
            lex_score = lex_result.score if lex_result else 0.0
            if lex_score == 0.0 and sim < config.min_similarity_alone:
                continue
            combined = 1 - (1 - lex_score) * (1 - config.similarity_weight * sim)
            if combined < config.threshold:
                continue
            reasons = [lex_result.explanation] if lex_result else []
            if sim >= config.explain_similarity:
                part = similarity.parts_[int(sim_part[n, c])]
                reasons.append(f"similar to {part.describe()} ({float(sim_best[n, c]):.2f})")
            used = (("lexical", lex_score > 0), ("similarity", sim >= config.explain_similarity))
            source = "+".join(name for name, on in used if on)
            candidates[code] = Suggestion(
                segment.id,
                code,
                round(combined, 4),
                source,
                "; ".join(reasons),
                lex_score,
                round(sim, 4),
            )
        for code, result in lex.items():
            if code in candidates or code in sim_codes or result.score < config.threshold:
                continue
            candidates[code] = Suggestion(
                segment.id, code, result.score, "lexical", result.explanation, result.score, 0.0
            )
        if scope is not None:
            candidates = {k: v for k, v in candidates.items() if k in scope}
        out.extend(_most_specific(candidates).values())
    return out


def _most_specific(candidates: dict[str, Suggestion]) -> dict[str, Suggestion]:
    """Drop codes implied by a suggested descendant (a parent of ``.../eenzaamheid``)."""
    implied = {
        "/".join(path.split("/")[:i]) for path in candidates for i in range(1, path.count("/") + 1)
    }
    return {k: v for k, v in candidates.items() if k not in implied}


def summary_counts(book: Codebook, suggestions: Sequence[Suggestion]) -> dict[str, int]:
    """Suggestions per branch: the children of a top code that has sub-levels (impact/sociaal,
    impact/psychisch, ...), else the top code itself (doelgroep, aanpak)."""
    groups = [
        child.path if any(c.children for c in top.children) else top.path
        for top in book.codes
        for child in (top.children if any(c.children for c in top.children) else (top,))
    ]
    counts = dict.fromkeys(groups, 0)
    for s in suggestions:
        group = next((g for g in groups if s.code == g or s.code.startswith(g + "/")), None)
        if group is not None:
            counts[group] += 1
    return counts


def suggest(
    project: Project,
    *,
    codebook: str | Path | Codebook | None = None,
    threshold: float | None = None,
    codes: Sequence[str] = (),
    progress: Progress | None = None,
) -> SuggestReport:
    """Suggest codes for every coded-unit segment and store them with status ``suggested``."""
    settings = project.settings()
    book = resolve_codebook(project, codebook)
    sync = sync_codes(project, book)
    threshold = float(threshold if threshold is not None else settings.get("threshold", 0.5))
    config = ScoringConfig(threshold=threshold)
    pipeline = load_pipeline(settings.get("spacy_model"))
    annotated = annotate_segments(
        project,
        pipeline,
        progress=(lambda d, t: progress("lemmatising", d, t)) if progress else None,
    )
    segments = coded_units(project)
    tokens = load_tokens(project, pipeline, segments)
    scope = book.subtree(list(codes)) if codes else None
    suggestions = score_segments(
        book,
        pipeline,
        segments,
        tokens,
        config,
        scope=scope,
        embedding_model=settings.get("embedding_model"),
    )
    ids = code_ids(project)
    with project.transaction() as conn:
        run_id = project.start_run(
            "suggest", {"threshold": threshold, "codes": list(codes), "pipeline": pipeline.name}
        )
        scope_ids = [ids[p] for p in (scope or ids)]
        conn.executemany(
            "DELETE FROM codings WHERE coder = ? AND status = 'suggested' AND code_id = ?",
            [(MACHINE_CODER, code_id) for code_id in scope_ids],
        )
        stamp = now()
        conn.executemany(
            "INSERT INTO codings (segment_id, code_id, coder, status, score, source, explanation,"
            " run_id, created_at, updated_at) VALUES (?, ?, ?, 'suggested', ?, ?, ?, ?, ?, ?)",
            [
                (
                    s.segment_id,
                    ids[s.code],
                    MACHINE_CODER,
                    s.score,
                    s.source,
                    s.explanation,
                    run_id,
                    stamp,
                    stamp,
                )
                for s in suggestions
            ],
        )
        per_top = summary_counts(book, suggestions)
        report = SuggestReport(
            run_id,
            pipeline.description,
            threshold,
            len(segments),
            len(suggestions),
            per_top,
            annotated,
            len(sync.added),
            sync.kept,
            list(book.warnings),
        )
        project.finish_run(run_id, {"segments": len(segments), "suggestions": len(suggestions)})
    return report
