"""Print the figures of docs/quality.md: suggestions and the keyword baseline against the
reference coding (all passages, coder A's half, coder B's held-out half), and the agreement
between the two human coders on the passages both coded.

    python benchmarks/quality_report.py --project outputs/demo
"""

from __future__ import annotations

import argparse
import csv

from reference_split import REF, reference_splits

from qualcode.codes import resolve_codebook
from qualcode.evaluate import (
    Evaluation,
    keyword_baseline,
    machine_codings,
    score,
    with_ancestors,
)
from qualcode.segments import all_segments
from qualcode.store import open_project

LEVELS = (
    "",
    "impact",
    "impact/sociaal",
    "impact/psychisch",
    "impact/financieel",
    "impact/existentieel",
    "doelgroep",
    "aanpak",
)


def table(title: str, results: dict[str, Evaluation]) -> None:
    print(f"\n{title}\n")
    print("| level | " + " | ".join(f"{n} P / R / F1 / κ" for n in results) + " |")
    print("|---|" + "---|" * len(results))
    for level in LEVELS:
        cells = []
        for result in results.values():
            try:
                lv = result.level(level)
            except KeyError:
                cells.append("–")
                continue
            kappa = f"{lv.macro_kappa:.2f}" if lv.macro_kappa is not None else "–"
            cells.append(
                f"{lv.macro_precision:.2f} / {lv.macro_recall:.2f} / "
                f"**{lv.macro_f1:.2f}** / {kappa}"
            )
        print(f"| {level or '(top: impact, doelgroep, aanpak)'} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--project", default="outputs/demo")
    args = parser.parse_args()
    project = open_project(args.project)
    book = resolve_codebook(project)
    parts = reference_splits(project, book)
    reference = parts["all"]
    machine = machine_codings(project)
    segments = all_segments(project)
    baseline = keyword_baseline(book, [(s.id, s.text) for s in segments if s.id in reference])
    splits = {
        f"all ({len(reference)})": reference,
        f"A ({len(parts['A'])})": parts["A"],
        f"B held out ({len(parts['B'])})": parts["B"],
    }
    table("qualcode suggestions", {n: score(r, machine, book) for n, r in splits.items()})
    table("keyword baseline", {n: score(r, baseline, book) for n, r in splits.items()})

    def read(name: str) -> dict[tuple[str, str], set[str]]:
        return {
            (r["document"], r["order"]): with_ancestors(c for c in r["codes"].split(";") if c)
            for r in csv.DictReader((REF / name).open(encoding="utf-8"))
        }

    a, b = read("coder_a.csv"), read("coder_b.csv")
    common = sorted(set(a) & set(b))
    ids = {k: n for n, k in enumerate(common)}
    agreement = score({ids[k]: a[k] for k in common}, {ids[k]: b[k] for k in common}, book)
    table(f"coder A vs coder B ({len(common)} passages coded by both)", {"B vs A": agreement})


if __name__ == "__main__":
    main()
