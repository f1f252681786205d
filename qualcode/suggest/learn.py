"""Learning from the researchers' decisions: a classifier per code, blended with the codebook.

"The tool should get better with every decision." Every accepted, manual and rejected coding of
every person (not the machine's own suggestions) is a training example for a one-vs-rest
logistic regression per code, on the segment's lemmas (TF-IDF) plus the
codebook scorer's own evidence for that code (lexical score, similarity, combined score, each
the best over the code and its sub-codes).

What counts as an example for a code, per segment:

- **positive**: a person accepted it or coded it by hand (``accepted``, ``manual``). Codes roll
  up: a positive for ``impact/sociaal/eenzaamheid`` is a positive for ``impact/sociaal`` and
  ``impact``.
- **negative**: a person rejected it. A rejection rolls down: rejecting ``impact/sociaal`` says
  the passage is about none of its sub-codes either; rejecting ``.../eenzaamheid`` is only a
  weak negative for ``impact/sociaal`` (below).
- **weak negative** (sample weight ``weak_negative_weight``): a person coded the segment with
  other codes but neither coded nor rejected this one (they looked at the passage, so the code
  probably does not apply, but they may simply not have thought of it); or they rejected one of
  its sub-codes and did not code it or another sub-code (rejecting ``.../eenzaamheid`` doubts
  ``impact/sociaal``, without ruling it out).
- When coders disagree on a segment, the majority of their explicit decisions counts; a tie is
  left out. Weak negatives only count where nobody decided explicitly.

A code gets a model once it has ``min_positive`` positive examples (and ``min_negative``
negative or weak negative ones, so that there is something to tell apart). Its probability is
blended with the codebook score: ``(1 - w) * codebook + w * model`` with
``w = max_weight * n / (n + half_weight_decisions)``, where ``n`` is the number of explicit
decisions (positives and rejections) on the code: at the minimum of 5 the codebook still
dominates (w = 0.27), at 10 decisions w = 0.4, at 30 w = 0.6, at 100 w = 0.73. A code's model
estimates whether the code *or one of its sub-codes* applies (positives roll up), so it is
blended with the best evidence in that branch (the code's own codebook score, or what its
sub-codes pass up: their blended score, and nothing from a sub-code a person rejected on that
passage), and when it puts a branch under the threshold, none of the branch's sub-codes is
suggested either. The model can lower a code (it
learned that passages like this were rejected) and raise one (passages like this were coded
with it, even without a keyword).

The settings (C = 3, the weights, weak negatives at 0.3) were chosen with
``benchmarks/learning_curve.py`` on the sample corpus; see docs/quality.md.

Apart from learning, decisions are respected literally: a code a person rejected on a segment
is never suggested there again, nor are its sub-codes (:func:`blocked_pairs`).

Fixed random seed; scikit-learn is imported only when some code has enough decisions.
"""

from __future__ import annotations

import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from qualcode.models import MACHINE_CODER
from qualcode.store import Project

if TYPE_CHECKING:
    from qualcode.suggest import CodebookScores

MIN_POSITIVE = 5
POSITIVE_STATUSES = ("accepted", "manual")
NEGATIVE_STATUSES = ("rejected",)


@dataclass(frozen=True)
class LearningConfig:
    min_positive: int = MIN_POSITIVE
    min_negative: int = 2
    weak_negative_weight: float = 0.3
    max_weight: float = 0.8
    half_weight_decisions: int = 10
    # inverse regularisation strength of the logistic regression
    c: float = 3.0
    random_state: int = 0

    def weight(self, decisions: int) -> float:
        """How much the model counts in the blend after ``decisions`` explicit decisions."""
        return self.max_weight * decisions / (decisions + self.half_weight_decisions)


@dataclass(frozen=True)
class Decision:
    """A person's coding of one segment with one code."""

    segment_id: int
    code: str
    coder: str
    status: str

    @property
    def positive(self) -> bool:
        return self.status in POSITIVE_STATUSES


@dataclass
class CodeLabels:
    """The training examples of one code: segment id → (1 or 0, sample weight)."""

    code: str
    labels: dict[int, tuple[int, float]] = field(default_factory=dict)
    positives: int = 0
    negatives: int = 0
    weak_negatives: int = 0

    @property
    def decisions(self) -> int:
        return self.positives + self.negatives


@dataclass(frozen=True)
class CodeModel:
    """What the model of one code learned from, and how much it counts."""

    code: str
    positives: int
    negatives: int
    weak_negatives: int
    weight: float

    @property
    def decisions(self) -> int:
        return self.positives + self.negatives


@dataclass
class LearningReport:
    enabled: bool
    decisions: int = 0  # decision rows read (every person, every code)
    min_positive: int = MIN_POSITIVE
    models: list[CodeModel] = field(default_factory=list)
    waiting: list[CodeModel] = field(default_factory=list)  # decisions, but too few for a model
    seconds: float = 0.0


def load_decisions(project: Project) -> list[Decision]:
    """Every person's accepted, manual and rejected codings (never the machine's)."""
    statuses = POSITIVE_STATUSES + NEGATIVE_STATUSES
    rows = project.conn.execute(
        "SELECT c.segment_id, k.path, c.coder, c.status FROM codings c"
        " JOIN codes k ON k.id = c.code_id"
        f" WHERE c.coder != ? AND c.status IN ({','.join('?' * len(statuses))})"
        " ORDER BY c.segment_id, k.path, c.coder",
        (MACHINE_CODER, *statuses),
    ).fetchall()
    return [Decision(r[0], r[1], r[2], r[3]) for r in rows]


def _with_ancestors(code: str) -> list[str]:
    parts = code.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _subtree(code: str, codes: Iterable[str]) -> list[str]:
    return [c for c in codes if c == code or c.startswith(code + "/")]


def code_labels(
    decisions: Iterable[Decision], codes: Sequence[str], weak_negative_weight: float = 0.3
) -> dict[str, CodeLabels]:
    """Training examples per code (see the module docstring for what counts as what)."""
    known = set(codes)
    # per segment and coder: coded (with parents), rejected (with sub-codes), and the parents
    # of what they rejected
    per_coder: dict[tuple[int, str], tuple[set[str], set[str], set[str]]] = {}
    for d in decisions:
        key = (d.segment_id, d.coder)
        positive, negative, doubted = per_coder.setdefault(key, (set(), set(), set()))
        if d.positive:
            positive.update(c for c in _with_ancestors(d.code) if c in known)
        else:
            negative.update(_subtree(d.code, codes))
            doubted.update(c for c in _with_ancestors(d.code)[:-1] if c in known)
    votes: dict[tuple[int, str], list[int]] = {}
    for (segment, _coder), (positive, negative, doubted) in per_coder.items():
        negative -= positive  # one person's own positive decision outweighs their rejection
        weak = (known if positive else doubted) - positive - negative
        for n, group in enumerate((positive, negative, weak)):
            for code in group:
                votes.setdefault((segment, code), [0, 0, 0])[n] += 1
    out = {code: CodeLabels(code) for code in codes}
    for (segment, code), (yes, no, weak) in sorted(votes.items()):
        labels = out[code]
        if yes > no:
            labels.labels[segment] = (1, 1.0)
            labels.positives += 1
        elif no > yes:
            labels.labels[segment] = (0, 1.0)
            labels.negatives += 1
        elif yes == 0 and weak:
            labels.labels[segment] = (0, weak_negative_weight)
            labels.weak_negatives += 1
    return {code: labels for code, labels in out.items() if labels.labels}


def blocked_pairs(decisions: Iterable[Decision], codes: Sequence[str]) -> set[tuple[int, str]]:
    """(segment id, code) pairs never to suggest: rejected by a person, with their sub-codes."""
    return {
        (d.segment_id, code)
        for d in decisions
        if d.status in NEGATIVE_STATUSES
        for code in _subtree(d.code, codes)
    }


def _columns(scores: CodebookScores, code: str) -> list[int]:
    """The columns of ``code`` (first) and its sub-codes."""
    return [scores.column(c) for c in _subtree(code, scores.codes)]


def codebook_features(scores: CodebookScores, code: str) -> Any:
    """The codebook scorer's evidence for ``code`` per segment (segments × 3): lexical score,
    similarity and combined score, each the best over the code and its sub-codes."""
    import numpy as np

    cols = _columns(scores, code)
    return np.column_stack(
        [m[:, cols].max(axis=1) for m in (scores.lexical, scores.similarity, scores.score)]
    )


class DecisionModel:
    """One-vs-rest logistic regression over TF-IDF of the lemmas plus the codebook evidence.

    ``fit(scores, labels)`` trains one classifier per code in ``labels``; ``predict_proba``
    gives, per code, the probability for every segment of ``scores``.
    """

    def __init__(self, c: float = 3.0, random_state: int = 0) -> None:
        self.c = c
        self.random_state = random_state

    def fit(self, scores: CodebookScores, labels: Mapping[str, CodeLabels]) -> DecisionModel:
        import numpy as np
        from scipy import sparse
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        # Fitted on every segment's lemmas (no labels involved): the vocabulary of the study.
        self.vectorizer_ = TfidfVectorizer(sublinear_tf=True, token_pattern=r"\S+", min_df=1)
        text = self.text_ = self.vectorizer_.fit_transform(scores.lemmas)
        self.lemmas_ = scores.lemmas
        row_of = {segment: row for row, segment in enumerate(scores.segment_ids)}
        self.coef_: dict[str, tuple[Any, Any, float]] = {}
        for code in sorted(labels):
            examples = sorted(labels[code].labels.items())
            rows = [row_of[segment] for segment, _ in examples]
            y = np.array([label for _, (label, _) in examples])
            weights = np.array([weight for _, (_, weight) in examples])
            features = np.asarray(codebook_features(scores, code)[rows])
            x = sparse.hstack([text[rows], sparse.csr_matrix(features)]).tocsr()
            classifier = LogisticRegression(
                C=self.c,
                class_weight="balanced",
                solver="liblinear",
                # the dual problem: far fewer examples than features (7 ms instead of 0.7 s)
                dual=True,
                max_iter=1000,
                random_state=self.random_state,
            ).fit(x, y, sample_weight=weights)
            coef = classifier.coef_[0]
            self.coef_[code] = (
                coef[: text.shape[1]],
                coef[text.shape[1] :],
                classifier.intercept_[0],
            )
        return self

    def predict_proba(self, scores: CodebookScores) -> dict[str, Any]:
        """code → probability per segment (the classifiers' own formula, on all segments at
        once without building the combined matrix per code)."""
        import numpy as np

        # usually the very segments it was fitted on: no need to transform them again
        same = scores.lemmas is self.lemmas_
        text = self.text_ if same else self.vectorizer_.transform(scores.lemmas)
        out = {}
        for code, (text_coef, codebook_coef, intercept) in self.coef_.items():
            z = text @ text_coef + codebook_features(scores, code) @ codebook_coef + intercept
            out[code] = 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))
        return out


@dataclass
class Learned:
    """The models that take part in a run and their probabilities per segment."""

    report: LearningReport
    models: dict[str, CodeModel] = field(default_factory=dict)
    probabilities: dict[str, Any] = field(default_factory=dict)

    def blend(
        self, scores: CodebookScores, blocked: Collection[tuple[int, str]] = frozenset()
    ) -> tuple[Any, Any]:
        """Final scores, and the evidence each code passes up to its parent (both segments ×
        codes).

        A code's model estimates whether the code or one of its sub-codes applies (positives
        roll up), so it is blended with the best of the code's own codebook score and what its
        sub-codes pass up: their own blended score where they have a model, nothing where a
        person rejected them on that segment (``blocked``). Codes without a model keep the
        codebook's own score, as without learning. Computed from the deepest codes upwards.
        """
        import numpy as np

        final = scores.score.copy()
        branch = scores.score.copy()
        rejected = np.zeros(final.shape, dtype=bool)
        row_of = {segment: row for row, segment in enumerate(scores.segment_ids)}
        col_of = {code: col for col, code in enumerate(scores.codes)}
        for segment, code in blocked:
            if segment in row_of and code in col_of:
                rejected[row_of[segment], col_of[code]] = True
        children: dict[int, list[int]] = {c: [] for c in range(len(scores.codes))}
        for c, code in enumerate(scores.codes):
            parent = code.rpartition("/")[0]
            if parent in col_of:
                children[col_of[parent]].append(c)
        for c in sorted(children, key=lambda c: -scores.codes[c].count("/")):
            best = scores.score[:, c]
            if children[c]:
                best = np.maximum(best, branch[:, children[c]].max(axis=1))
            model = self.models.get(scores.codes[c])
            if model is not None:
                final[:, c] = (1 - model.weight) * best + model.weight * self.probabilities[
                    model.code
                ]
                best = final[:, c]
            branch[:, c] = np.where(rejected[:, c], 0.0, best)
        return final, branch

    def allowed(self, scores: CodebookScores, final: Any, threshold: float) -> Any:
        """Segments × codes: False below a code whose model put it under the threshold (when
        the branch is unlikely, none of its sub-codes is suggested either)."""
        import numpy as np

        ok = np.ones(final.shape, dtype=bool)
        for code in self.models:
            below = final[:, scores.column(code)] < threshold
            for c in _columns(scores, code)[1:]:
                ok[below, c] = False
        return ok

    def evidence(self, scores: CodebookScores, code: str, row: int, branch: Any) -> int:
        """The column whose codebook reasons explain a model's code on this segment: the code
        itself or the sub-code with the best codebook score, leaving out sub-codes a person
        rejected there (their ``branch`` evidence is 0)."""
        cols = [c for c in _columns(scores, code) if branch[row, c] > 0] or [scores.column(code)]
        return max(cols, key=lambda c: (scores.score[row, c], c == scores.column(code)))

    def probability(self, code: str, row: int) -> float:
        return round(float(self.probabilities[code][row]), 4)

    def describe(self, code: str, row: int) -> str:
        """The model's part of an explanation, e.g. ``geleerd van 12 besluiten (0.81)``."""
        n = self.models[code].decisions  # at least min_positive, so always plural
        return f"geleerd van {n} besluiten ({self.probability(code, row):.2f})"


def learn(
    scores: CodebookScores,
    decisions: Sequence[Decision],
    config: LearningConfig | None = None,
) -> Learned:
    """Train a model for every code with enough decisions; the rest wait.

    Always every code, also when only some are suggested (``--codes``): a branch's model
    decides over its sub-codes too, so a partial run suggests what a full run would."""
    config = config or LearningConfig()
    started = time.perf_counter()
    rows = set(scores.segment_ids)
    usable = [d for d in decisions if d.segment_id in rows]
    labels = code_labels(usable, scores.codes, config.weak_negative_weight)
    ready = {
        code: lab
        for code, lab in labels.items()
        if lab.positives >= config.min_positive
        and lab.negatives + lab.weak_negatives >= config.min_negative
    }

    def info(lab: CodeLabels, weight: float) -> CodeModel:
        return CodeModel(lab.code, lab.positives, lab.negatives, lab.weak_negatives, weight)

    order = {code: n for n, code in enumerate(scores.codes)}
    report = LearningReport(
        enabled=True,
        decisions=len(decisions),
        min_positive=config.min_positive,
        waiting=[
            info(lab, 0.0)
            for code, lab in sorted(labels.items(), key=lambda kv: order[kv[0]])
            if code not in ready and lab.decisions
        ],
    )
    learned = Learned(report)
    if ready:
        model = DecisionModel(c=config.c, random_state=config.random_state).fit(scores, ready)
        learned.probabilities = model.predict_proba(scores)
        for code in sorted(ready, key=order.__getitem__):
            learned.models[code] = info(ready[code], config.weight(ready[code].decisions))
        report.models = list(learned.models.values())
    report.seconds = time.perf_counter() - started
    return learned
