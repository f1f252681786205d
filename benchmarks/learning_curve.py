"""Learning curve: how much do the researcher's decisions improve the suggestions?

Simulates a researcher reviewing the sample corpus with the reference coding
(``corpus/reference/reference.csv``) as their judgement: for a growing random share of the
reference segments (0, 25, 50, 100, 150 segments decided), the reference codes become their
decisions (``accepted`` where the machine had suggested the code, else ``manual``) and the
machine's suggestions on those segments that the reference does not have become ``rejected``.
The suggestions are then re-scored with learning and measured on the remaining, undecided
reference segments only, against the codebook-only suggestions on the same segments: macro-F1
of level ``impact`` and micro-F1 over all leaf codes (``qualcode.evaluate``). Several random
orders (seeds); the table shows the median and the range.

The re-scoring uses the very functions ``qualcode suggest`` uses (``score_all`` once, then
``suggest_from_scores`` per simulated state); ``--check`` also runs the full ``suggest`` on a
copy of the project with the decisions stored as codings and verifies it gives the same result.

    python benchmarks/learning_curve.py                      # builds the sample corpus project
    python benchmarks/learning_curve.py --project outputs/demo --seeds 5
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reference_split import REF

from qualcode.codebook import Codebook
from qualcode.codes import resolve_codebook
from qualcode.evaluate import Evaluation, load_reference, machine_codings, score, with_ancestors
from qualcode.nlp import load_pipeline
from qualcode.segments import coded_units
from qualcode.store import Project, now, open_project
from qualcode.suggest import (
    CodebookScores,
    ScoringConfig,
    Suggestion,
    load_tokens,
    score_all,
    select,
    suggest,
    suggest_from_scores,
)
from qualcode.suggest.learn import Decision, LearningConfig, blocked_pairs, learn

ROOT = Path(__file__).resolve().parent.parent
SIZES = (0, 25, 50, 100, 150)
CODER = "onderzoeker"


def most_specific(codes: set[str]) -> set[str]:
    """The reference codes a person would have entered (the leaves of a rolled-up set)."""
    return {c for c in codes if not any(o.startswith(c + "/") for o in codes)}


def simulated_decisions(
    decided: Sequence[int],
    reference: Mapping[int, set[str]],
    machine: Mapping[int, set[str]],
) -> list[Decision]:
    """A researcher who codes the ``decided`` segments exactly as the reference does."""
    out = []
    for segment in decided:
        wanted = reference[segment]
        for code in sorted(most_specific(wanted)):
            status = "accepted" if code in machine.get(segment, set()) else "manual"
            out.append(Decision(segment, code, CODER, status))
        for code in sorted(machine.get(segment, set()) - wanted):
            out.append(Decision(segment, code, CODER, "rejected"))
    return out


def per_segment(suggestions: Sequence[Suggestion]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for s in suggestions:
        out.setdefault(s.segment_id, set()).add(s.code)
    return out


def leaf_micro_f1(result: Evaluation, book: Codebook) -> float:
    leaves = {c.path for c in book.walk() if c.is_leaf}
    used = [s for s in result.codes if s.code in leaves]
    tp = sum(s.true_positives for s in used)
    denominator = sum(s.predicted for s in used) + sum(s.support for s in used)
    return 2 * tp / denominator if denominator else 0.0


@dataclass
class Point:
    size: int
    seed: int
    held_out: int
    base_impact: float
    learned_impact: float
    base_leaf: float
    learned_leaf: float
    base_ranking: float
    learned_ranking: float
    models: int
    seconds: float


def ranking(
    scores: CodebookScores,
    final: Any,
    held_out: Mapping[int, set[str]],
    codes: Sequence[str],
) -> float:
    """Average precision of a score per code over the held-out segments (macro over ``codes``):
    how well the score ranks the passages, whatever the threshold."""
    from sklearn.metrics import average_precision_score

    rows = [scores.segment_ids.index(s) for s in held_out]
    values = []
    for code in codes:
        truth = [code in held_out[s] for s in held_out]
        if any(truth):
            values.append(average_precision_score(truth, final[rows, scores.column(code)]))
    return statistics.mean(values)


def rolled_codebook(scores: CodebookScores) -> Any:
    """The codebook's score per code as the best over the code and its sub-codes (what a
    code's model is blended with)."""
    out = scores.score.copy()
    for c, code in enumerate(scores.codes):
        cols = [scores.column(k) for k in scores.codes if k.startswith(code + "/")]
        if cols:
            out[:, c] = scores.score[:, [c, *cols]].max(axis=1)
    return out


def measure(
    scores: CodebookScores,
    book: Codebook,
    reference: Mapping[int, set[str]],
    sizes: Sequence[int],
    seeds: Sequence[int],
    config: LearningConfig,
) -> list[Point]:
    base = select(scores)
    machine = per_segment(base)
    base_predicted = {k: with_ancestors(v) for k, v in machine.items()}
    categories = [c.path for c in book.by_path["impact"].children]
    codebook_ranked = rolled_codebook(scores)
    points = []
    for seed in seeds:
        order = random.Random(seed).sample(sorted(reference), len(reference))
        for size in sizes:
            decided = order[:size]
            held_out = {k: v for k, v in reference.items() if k not in set(decided)}
            decisions = simulated_decisions(decided, reference, machine)
            started = time.process_time()  # CPU time: the machine may be shared
            suggestions, report = suggest_from_scores(scores, decisions, learning=config)
            seconds = time.process_time() - started
            # the same (deterministic) models again, for their scores before the threshold
            learned_ranked = codebook_ranked.copy()
            model = learn(scores, decisions, config)
            final, _ = model.blend(scores, blocked_pairs(decisions, scores.codes))
            for code in model.models:
                learned_ranked[:, scores.column(code)] = final[:, scores.column(code)]
            learned = {k: with_ancestors(v) for k, v in per_segment(suggestions).items()}
            before = score(held_out, base_predicted, book)
            after = score(held_out, learned, book)
            points.append(
                Point(
                    size,
                    seed,
                    len(held_out),
                    before.level("impact").macro_f1,
                    after.level("impact").macro_f1,
                    leaf_micro_f1(before, book),
                    leaf_micro_f1(after, book),
                    ranking(scores, codebook_ranked, held_out, categories),
                    ranking(scores, learned_ranked, held_out, categories),
                    len(report.models),
                    seconds,
                )
            )
    return points


def spread(values: Sequence[float], sign: str = "") -> str:
    # + 0.0 turns a rounded -0.00 into 0.00
    m, lo, hi = (round(v, 2) + 0.0 for v in (statistics.median(values), min(values), max(values)))
    return f"{m:{sign}.2f} ({lo:{sign}.2f} to {hi:{sign}.2f})"


def table(points: Sequence[Point], sizes: Sequence[int]) -> str:
    """Per number of decisions: codebook alone, with learning, and the change (per order)."""
    lines = [
        "| decisions | held out | impact macro-F1 codebook → learned | change "
        "| leaf micro-F1 codebook → learned | change "
        "| impact ranking (AP) codebook → learned | codes with a model | CPU s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in sizes:
        at = [p for p in points if p.size == size]

        def pair(base: str, learned: str, at: list[Point] = at) -> str:
            b = statistics.median(getattr(p, base) for p in at)
            a = statistics.median(getattr(p, learned) for p in at)
            return f"{b:.2f} → {a:.2f}"

        def change(base: str, learned: str, at: list[Point] = at) -> str:
            return spread([getattr(p, learned) - getattr(p, base) for p in at], "+")

        lines.append(
            f"| {size} | {at[0].held_out} "
            f"| {pair('base_impact', 'learned_impact')} "
            f"| {change('base_impact', 'learned_impact')} "
            f"| {pair('base_leaf', 'learned_leaf')} | {change('base_leaf', 'learned_leaf')} "
            f"| {pair('base_ranking', 'learned_ranking')} "
            f"| {statistics.median(p.models for p in at):g} "
            f"| {statistics.median(p.seconds for p in at):.2f} |"
        )
    return "\n".join(lines)


def store_decisions(project: Project, decisions: Sequence[Decision]) -> None:
    with project.transaction() as conn:
        ids = {r[0]: r[1] for r in conn.execute("SELECT path, id FROM codes")}
        stamp = now()
        conn.executemany(
            "INSERT INTO codings (segment_id, code_id, coder, status, source, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, 'learning_curve', ?, ?)",
            [(d.segment_id, ids[d.code], d.coder, d.status, stamp, stamp) for d in decisions],
        )


def check_end_to_end(
    project_dir: Path,
    scores: CodebookScores,
    reference: Mapping[int, set[str]],
    size: int,
    seed: int,
    config: LearningConfig,
) -> None:
    """The full ``suggest`` on a copy with the decisions stored gives the same suggestions."""
    machine = per_segment(select(scores))
    decided = random.Random(seed).sample(sorted(reference), len(reference))[:size]
    decisions = simulated_decisions(decided, reference, machine)
    expected, _ = suggest_from_scores(scores, decisions, learning=config)
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(shutil.copytree(project_dir, Path(tmp) / "project"))
        with open_project(copy) as project:
            store_decisions(project, decisions)
            report = suggest(project)
            stored = machine_codings(project)
    assert config == LearningConfig(), "--check runs suggest with the default learning settings"
    fast = {k: with_ancestors(v) for k, v in per_segment(expected).items()}
    assert stored == fast, "suggest() and the simulation disagree"
    assert report.learning is not None
    print(
        f"Check: suggest() on a copy with {len(decisions)} stored decisions ({size} segments,"
        f" seed {seed}) gives the same {report.suggestions} suggestions;"
        f" {len(report.learning.models)} codes with a model.\n"
    )


def build_sample_project(folder: Path) -> Path:
    from qualcode.pipeline import run

    corpus = ROOT / "corpus"
    run(
        [corpus],
        out=folder,
        codebook=ROOT / "codebooks" / "impact.yaml",
        metadata=corpus / "metadata.csv",
    )
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--project", type=Path, help="default: build the sample corpus project")
    parser.add_argument("--seeds", type=int, default=5, help="random orders (default 5)")
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--check", action="store_true", help="also run the full suggest once")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        project_dir = args.project or build_sample_project(Path(tmp) / "sample")
        with open_project(project_dir) as project:
            book = resolve_codebook(project)
            settings = project.settings()
            pipeline = load_pipeline(settings.get("spacy_model"))
            segments = coded_units(project)
            tokens = load_tokens(project, pipeline, segments)
            config = ScoringConfig(threshold=float(settings.get("threshold", 0.5)))
            scores = score_all(book, pipeline, segments, tokens, config)
            reference = load_reference(REF / "reference.csv", project, book)
        learning = LearningConfig()
        if args.check:
            check_end_to_end(project_dir, scores, reference, 50, 0, learning)
        points = measure(scores, book, reference, sizes, range(args.seeds), learning)
    print(
        f"{len(reference)} reference segments, {args.seeds} random orders; medians over the"
        " orders (change: median and range of learned minus codebook per order), measured on"
        " the reference segments not decided.\n"
    )
    print(table(points, sizes))


if __name__ == "__main__":
    main()
