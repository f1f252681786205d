"""Code suggestions: codebook evidence and what was learned from decisions, in one score per code.

``suggest`` is what ``qualcode suggest`` calls. It

1. syncs the project's codes with the codebook,
2. tokenises/lemmatises segments that have no stored tokens yet (once per segment),
3. scores every coded-unit segment (never interviewer/moderator turns) against every code with
   the lexical and the similarity suggester (:func:`score_all`), combined as
   ``1 - (1 - lexical) * (1 - w * similarity)``, for all (segment, code) pairs, not only those
   above the threshold,
4. learns from the researchers' decisions (``learn.py``): for every code with enough positive
   decisions a classifier's probability is blended with the codebook score, with a weight that
   grows with the number of decisions (``learning=False``, ``--no-learning``, skips this),
5. never suggests a code on a segment where a person rejected it (or one of its parents),
6. keeps the most specific codes: a sub-code implies its parent, so a parent suggested on the
   same segment as one of its children is not stored twice (:func:`select`),
7. replaces the machine's earlier suggestions for the codes in scope in one transaction.

:func:`score_segments` is steps 3 and 6 alone: what the codebook suggests above the threshold.
:func:`suggest_from_scores` is steps 4 to 6 on scores already computed (nothing stored), which
``benchmarks/learning_curve.py`` uses to replay many states of decisions.
A person's codings (accepted, rejected, manual) are separate rows and are never touched.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.codebook import Codebook
from qualcode.codes import (
    CodeRemoval,
    SyncReport,
    code_ids,
    pending_removals,
    remember_checked,
    resolve_codebook,
    sync_codes,
)
from qualcode.models import MACHINE_CODER, Segment
from qualcode.nlp import Pipeline, PipelineInfo, Token, decoded_or_none, load_pipeline
from qualcode.segments import coded_units
from qualcode.store import Project, now

if TYPE_CHECKING:
    from qualcode.suggest.learn import Decision, Learned, LearningConfig, LearningReport
    from qualcode.suggest.lexical import LexicalSuggester
    from qualcode.suggest.similarity import ProfilePart, SimilaritySuggester

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
    model: float | None = None  # the learned probability, when a model took part


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
    learning: LearningReport | None = None
    sync: SyncReport = field(default_factory=SyncReport)
    work: ScoringWork | None = None  # what had to be computed, and what earlier runs gave


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


@dataclass
class CodebookScores:
    """The codebook's evidence for every (segment, code) pair, before any threshold.

    Arrays are segments × codes (numpy, ``codes`` in codebook order). ``score`` is the score
    the codebook alone suggests with: the combined score, and 0 where there is no keyword and
    the similarity is too weak to stand alone. Explanations are built only for what is finally
    suggested (:meth:`reasons`).
    """

    config: ScoringConfig
    segment_ids: list[int]
    codes: list[str]
    lemmas: list[str]  # content lemmas per segment (also the learned model's text features)
    lexical: Any
    similarity: Any  # scaled to [0, 1]; 0 for codes without definition or examples
    cosine: Any  # the raw cosine with the best-matching profile part
    part: Any  # index into ``parts`` of that profile part
    score: Any
    profiled: list[bool]  # per code: has a definition or examples, so similarity applies
    lexical_results: list[dict[str, tuple[float, str]]]  # code -> (score, explanation)
    parts: list[ProfilePart]

    def column(self, code: str) -> int:
        return self.codes.index(code)

    def reasons(self, row: int, col: int) -> list[str]:
        """The codebook's reasons for code ``col`` on segment ``row``, in plain words."""
        out = []
        lex = self.lexical_results[row].get(self.codes[col])
        if lex is not None:
            out.append(lex[1])
        if self.profiled[col] and self.similarity[row, col] >= self.config.explain_similarity:
            part = self.parts[int(self.part[row, col])]
            out.append(f"similar to {part.describe()} ({float(self.cosine[row, col]):.2f})")
        return out

    def sources(self, row: int, col: int) -> list[str]:
        used = (
            ("lexical", self.lexical[row, col] > 0),
            ("similarity", self.similarity[row, col] >= self.config.explain_similarity),
        )
        return [name for name, on in used if on]


def load_tokens(
    project: Project, pipeline: Pipeline, segments: Sequence[Segment]
) -> list[list[Token]]:
    rows = dict(
        project.conn.execute(
            "SELECT segment_id, tokens FROM segment_nlp WHERE pipeline = ?", (pipeline.name,)
        ).fetchall()
    )
    # a damaged stored value counts as no tokens (the next suggest tokenises it again)
    return [(decoded_or_none(rows[s.id], s.text) or []) if s.id in rows else [] for s in segments]


def score_all(
    codebook: Codebook,
    pipeline: Pipeline,
    segments: Sequence[Segment],
    tokens: Sequence[Sequence[Token]],
    config: ScoringConfig,
    *,
    embedding_model: str | None = None,
) -> CodebookScores:
    """The lexical and similarity evidence for every segment and every code of ``codebook``,
    from tokens in memory (nothing read from or kept in a project: see :func:`score_project`)."""
    from qualcode.suggest.similarity import SimilaritySuggester, lemma_text

    lexical = fit_lexical(codebook, pipeline)
    matches = [
        {code: (r.score, r.explanation) for code, r in lexical.match(s.text, toks).items()}
        for s, toks in zip(segments, tokens, strict=True)
    ]
    segment_lemmas = [lemma_text(t) for t in tokens]
    parts = profile_parts_of(codebook)
    similarity = SimilaritySuggester(embedding_model=embedding_model).fit(
        segment_lemmas, profile_lemmas(parts, pipeline), parts, [s.text for s in segments]
    )
    return _combine(codebook, config, segments, segment_lemmas, matches, similarity)


def score_project(
    project: Project,
    codebook: Codebook,
    model: str | None,
    segments: Sequence[Segment],
    config: ScoringConfig,
    *,
    embedding_model: str | None = None,
    refit: bool = False,
    progress: Progress | None = None,
) -> tuple[CodebookScores, ScoringWork]:
    """:func:`score_all` for a project, reusing what earlier runs kept: lexical matches and
    lemmas of unchanged segments (``features.py``) and the similarity space (``space.py``).
    Segments without stored tokens are tokenised on the way. The spaCy pipeline (``model``)
    is loaded only when something has to be tokenised, matched or fitted."""
    from qualcode.nlp import pipeline_info
    from qualcode.suggest import features, space
    from qualcode.suggest.lexical import WEIGHTS
    from qualcode.suggest.similarity import SimilaritySuggester

    info = pipeline_info(model)
    key = features.lexical_fingerprint(codebook, info.name, WEIGHTS)
    kept = features.stored(project, segments, key)
    todo = [s for s in segments if s.id not in kept]
    tokenised = 0
    if todo:
        pipeline = load_pipeline(model)
        updated = features.update(
            project,
            pipeline,
            fit_lexical(codebook, pipeline),
            todo,
            key,
            progress=(lambda d, t: progress("analysing", d, t)) if progress else None,
        )
        tokenised = updated.tokenised
        kept.update(updated.features)
    found = [kept[s.id] for s in segments]
    segment_lemmas = [f.lemmas for f in found]
    parts = profile_parts_of(codebook)
    similarity = SimilaritySuggester(embedding_model=embedding_model)
    fit = space.fitted(
        project,
        similarity,
        info.name,
        [s.id for s in segments],
        segment_lemmas,
        [s.text for s in segments],
        parts,
        lambda: profile_lemmas(parts, load_pipeline(model)),
        refit=refit,
    )
    scores = _combine(
        codebook, config, segments, segment_lemmas, [f.lexical for f in found], similarity
    )
    return scores, ScoringWork(info, tokenised, len(todo), fit.refitted, fit.folded_in)


@dataclass(frozen=True)
class ScoringWork:
    """What a :func:`score_project` call had to compute (the rest came from earlier runs)."""

    pipeline: PipelineInfo
    tokenised: int
    matched: int
    refitted: bool
    folded_in: int


def fit_lexical(codebook: Codebook, pipeline: Pipeline) -> LexicalSuggester:
    from qualcode.nlp import dutch_vocabulary
    from qualcode.suggest.lexical import LexicalSuggester

    # Compound parts must be words of spaCy's Dutch lookup data, not merely words seen in the
    # corpus: that keeps a segment's matches independent of the other transcripts (so they can
    # be kept between runs) and stops 'onderschatte' from containing 'chatten'.
    return LexicalSuggester().fit(codebook, pipeline, dutch_vocabulary(pipeline))


def profile_parts_of(codebook: Codebook) -> list[ProfilePart]:
    """The texts similarity compares with: each leaf code's definition and examples."""
    from qualcode.suggest.similarity import profile_parts

    return [p for code in codebook.walk() if code.is_leaf for p in profile_parts(code)]


def profile_lemmas(parts: Sequence[ProfilePart], pipeline: Pipeline) -> list[str]:
    from qualcode.nlp import tokens_of
    from qualcode.suggest.similarity import lemma_text

    return [lemma_text(tokens_of(doc)) for doc in pipeline.nlp.pipe([p.text for p in parts])]


def _combine(
    codebook: Codebook,
    config: ScoringConfig,
    segments: Sequence[Segment],
    segment_lemmas: Sequence[str],
    matches: Sequence[dict[str, tuple[float, str]]],
    similarity: SimilaritySuggester,
) -> CodebookScores:
    """One score per (segment, code): ``1 - (1 - lexical) * (1 - w * similarity)``, with
    similarity alone counting only when strong, and not at all on very short passages."""
    import numpy as np

    sim_codes, sim_best, sim_part = similarity.best_matches()
    codes = [code.path for code in codebook.walk()]
    col = {path: c for c, path in enumerate(codes)}
    shape = (len(segments), len(codes))
    lex_scores = np.zeros(shape)
    sim_scores = np.zeros(shape)
    cosines = np.zeros(shape)
    which = np.zeros(shape, dtype=np.int32)
    profiled = [False] * len(codes)
    sim_cols = [col[code] for code in sim_codes]
    for c in sim_cols:
        profiled[c] = True
    for n, found in enumerate(matches):
        for code, (score, _) in found.items():
            lex_scores[n, col[code]] = score
    combined = lex_scores.copy()
    if sim_cols:
        # whole matrices at once: a Python loop over segments × codes cost seconds at 1M words
        cosine = sim_best.astype(np.float64)
        scaled = np.clip(
            (cosine - similarity.floor) / (similarity.ceiling - similarity.floor), 0, 1
        )
        short = np.array(
            [len(lem.split()) < config.min_similarity_words for lem in segment_lemmas], dtype=bool
        )
        scaled[short[:, None] & (cosine < config.near_copy)] = 0.0
        lex_part = lex_scores[:, sim_cols]
        both = 1 - (1 - lex_part) * (1 - config.similarity_weight * scaled)
        both[(lex_part == 0.0) & (scaled < config.min_similarity_alone)] = 0.0
        sim_scores[:, sim_cols] = scaled
        cosines[:, sim_cols] = cosine
        which[:, sim_cols] = sim_part
        combined[:, sim_cols] = both
    return CodebookScores(
        config,
        [s.id for s in segments],
        codes,
        list(segment_lemmas),
        lex_scores,
        sim_scores,
        cosines,
        which,
        combined,
        profiled,
        list(matches),
        similarity.parts_,
    )


def select(
    scores: CodebookScores,
    *,
    scope: set[str] | None = None,
    learned: Learned | None = None,
    blocked: set[tuple[int, str]] | frozenset[tuple[int, str]] = frozenset(),
) -> list[Suggestion]:
    """The suggestions above the threshold: the codebook's score, blended with the learned
    probability for codes that have a model; never a ``blocked`` (segment id, code) pair (a
    person rejected it there); only the most specific codes of a branch."""
    import numpy as np

    threshold = scores.config.threshold
    final, allowed = scores.score, np.ones(scores.score.shape, dtype=bool)
    modelled: set[int] = set()
    if learned is not None:
        final, branch = learned.blend(scores, blocked)
        allowed = learned.allowed(scores, final, threshold)
        modelled = {scores.column(code) for code in learned.models}
    # codes with a similarity profile first (sorted), then the others in codebook order: the
    # order suggestions have always been stored in
    order = sorted((c for c, on in enumerate(scores.profiled) if on), key=scores.codes.__getitem__)
    order += [c for c, on in enumerate(scores.profiled) if not on]
    if scope is not None:
        order = [c for c in order if scores.codes[c] in scope]
    out: list[Suggestion] = []
    for row, segment_id in enumerate(scores.segment_ids):
        candidates: dict[str, Suggestion] = {}
        for c in order:
            value = float(final[row, c])
            if value <= 0.0 or value < threshold or not allowed[row, c]:
                continue
            code = scores.codes[c]
            if (segment_id, code) in blocked:
                continue
            probability = None
            if c in modelled:
                assert learned is not None
                evidence = learned.evidence(scores, code, row, branch)
                reasons, sources = scores.reasons(row, evidence), scores.sources(row, evidence)
                probability = learned.probability(code, row)
                reasons.append(learned.describe(code, row))
                sources.append("model")
            else:
                reasons, sources = scores.reasons(row, c), scores.sources(row, c)
            exact = scores.profiled[c] or c in modelled
            candidates[code] = Suggestion(
                segment_id,
                code,
                round(value, 4) if exact else value,
                "+".join(sources),
                "; ".join(reasons),
                float(scores.lexical[row, c]),
                round(float(scores.similarity[row, c]), 4),
                probability,
            )
        out.extend(_most_specific(candidates).values())
    return out


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
    """Score every segment against every code; returns the codebook's suggestions above the
    threshold (no learning, no decisions)."""
    scores = score_all(
        codebook, pipeline, segments, tokens, config, embedding_model=embedding_model
    )
    return select(scores, scope=scope)


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


def suggest_from_scores(
    scores: CodebookScores,
    decisions: Sequence[Decision],
    *,
    scope: set[str] | None = None,
    learning: LearningConfig | None = None,
) -> tuple[list[Suggestion], LearningReport]:
    """Steps 4 to 6 of ``suggest`` on scores already computed: learn from ``decisions`` (unless
    ``learning`` is None), blend, drop what a person rejected, keep the most specific codes."""
    from qualcode.suggest.learn import blocked_pairs, learn

    learned = learn(scores, decisions, learning) if learning is not None else None
    blocked = blocked_pairs(decisions, scores.codes)
    suggestions = select(scores, scope=scope, learned=learned, blocked=blocked)
    report = learned.report if learned is not None else _learning_off(decisions)
    return suggestions, report


def _learning_off(decisions: Sequence[Decision]) -> LearningReport:
    from qualcode.suggest.learn import LearningReport

    return LearningReport(enabled=False, decisions=len(decisions))


def suggest(
    project: Project,
    *,
    codebook: str | Path | Codebook | None = None,
    threshold: float | None = None,
    codes: Sequence[str] = (),
    learning: bool = True,
    removals: Sequence[CodeRemoval] = (),
    refit: bool = False,
    progress: Progress | None = None,
) -> SuggestReport:
    """Suggest codes for every coded-unit segment and store them with status ``suggested``.

    A code that left the codebook while a person coded with it needs a ``removal`` (merge its
    codings into another code, or delete them); without one nothing is changed.

    With ``learning`` (the default), codes with enough decisions by researchers are also scored
    by a model learned from those decisions (see ``qualcode.suggest.learn``).
    """
    from qualcode.suggest.learn import LearningConfig, load_decisions

    settings = project.settings()
    book = resolve_codebook(project, codebook)
    pending_removals(project, book, removals)  # refuse before minutes of work, not after
    threshold = float(threshold if threshold is not None else settings.get("threshold", 0.5))
    config = ScoringConfig(threshold=threshold)
    segments = coded_units(project)
    scope = book.subtree(list(codes)) if codes else None
    scores, work = score_project(
        project,
        book,
        settings.get("spacy_model"),
        segments,
        config,
        embedding_model=settings.get("embedding_model"),
        refit=refit,
        progress=progress,
    )
    decisions = load_decisions(project)
    suggestions, learning_report = suggest_from_scores(
        scores, decisions, scope=scope, learning=LearningConfig() if learning else None
    )
    with project.transaction() as conn:
        # the codes are synced in the same transaction as the suggestions: a failure or a kill
        # anywhere in suggest leaves the codes and the suggestions as they were
        sync = sync_codes(project, book, removals)
        remember_checked(conn, book)
        ids = code_ids(project)
        run_id = project.start_run(
            "suggest",
            {
                "threshold": threshold,
                "codes": list(codes),
                "pipeline": work.pipeline.name,
                "learning": learning,
            },
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
            work.pipeline.description,
            threshold,
            len(segments),
            len(suggestions),
            per_top,
            work.tokenised,
            len(sync.added),
            sync.kept,
            list(book.warnings),
            learning_report,
            sync,
            work,
        )
        project.finish_run(
            run_id,
            {
                "segments": len(segments),
                "suggestions": len(suggestions),
                "tokenised": work.tokenised,
                "matched": work.matched,
                "space": "refitted" if work.refitted else f"kept ({work.folded_in} folded in)",
                "models": {m.code: m.decisions for m in learning_report.models},
            },
        )
    return report
