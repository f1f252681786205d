"""Sweep the global scoring parameters against the reference coding, with a held-out split.

Dev = passages coded by coder A (focus groups), test = passages only coder B coded (interviews
and field notes). Parameters are chosen on dev; the test figures show whether they generalise.

    python benchmarks/tune_scoring.py --project outputs/demo
"""

from __future__ import annotations

import argparse
import itertools

from reference_split import reference_splits

from qualcode.codes import resolve_codebook
from qualcode.evaluate import score, with_ancestors
from qualcode.nlp import load_pipeline
from qualcode.segments import coded_units
from qualcode.store import open_project
from qualcode.suggest import ScoringConfig, load_tokens, score_segments


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", default="outputs/demo")
    args = parser.parse_args()
    project = open_project(args.project)
    book = resolve_codebook(project)
    pipeline = load_pipeline(project.settings().get("spacy_model"))
    segments = coded_units(project)
    tokens = load_tokens(project, pipeline, segments)
    loose = ScoringConfig(
        threshold=0.2, similarity_weight=1.0, min_similarity_alone=0.0, explain_similarity=0.0
    )
    candidates = score_segments(book, pipeline, segments, tokens, loose)
    parts = reference_splits(project, book)
    splits = {"dev": parts["A"], "test": parts["B"], "all": parts["all"]}
    from qualcode.suggest.similarity import lemma_text

    content = {s.id: len(lemma_text(t).split()) for s, t in zip(segments, tokens, strict=True)}
    grid = itertools.product(
        [0.4, 0.45, 0.5, 0.55],
        [0.5, 0.75, 1.0],
        [0.8],
        [60, 10_000],
        [0.5],
        [0, 8],
        [1.0, 0.9, 0.8, 0.7],
    )
    rows = []
    for threshold, weight, alone, norm, power, min_tokens, lex_weight in grid:
        predicted: dict[int, set[str]] = {}
        for c in candidates:
            n = content[c.segment_id]
            sim = c.similarity if n >= min_tokens else 0.0
            if c.lexical == 0 and sim < alone:
                continue
            factor = min(1.0, (norm / max(n, 1)) ** power)
            lexical = lex_weight * (1 - (1 - c.lexical) ** factor)
            combined = 1 - (1 - lexical) * (1 - weight * sim)
            if combined >= threshold:
                predicted.setdefault(c.segment_id, set()).add(c.code)
        predicted = {k: with_ancestors(v) for k, v in predicted.items()}
        row = {
            "threshold": threshold,
            "sim_weight": weight,
            "sim_alone": alone,
            "norm_words": norm,
            "power": power,
            "min_tokens": min_tokens,
            "lex_weight": lex_weight,
        }
        for name, ref in splits.items():
            result = score(ref, predicted, book)
            row[f"{name}_impact_f1"] = round(result.level("impact").macro_f1, 3)
            row[f"{name}_leaf_f1"] = round(
                sum(lv.macro_f1 for lv in result.levels if lv.level.startswith("impact/")) / 4, 3
            )
        rows.append(row)
    rows.sort(key=lambda r: -r["dev_impact_f1"])
    columns = list(rows[0])
    print("\t".join(columns))
    for r in rows[:15]:
        print("\t".join(str(r[c]) for c in columns))


if __name__ == "__main__":
    main()
