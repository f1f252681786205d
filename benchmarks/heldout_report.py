"""Suggestion quality on a held-out test set: transcripts written and coded after the codebook
was tuned, by a writer who never saw its keyword lists or any suggestion. ``benchmarks/heldout``
and ``benchmarks/heldout2`` have since been read while improving the engine (development sets);
``benchmarks/heldout3`` and ``benchmarks/heldout4`` are clean tests. Never tune on them; see the
README in each folder.

    python benchmarks/heldout_report.py [--set heldout2|heldout3|heldout4] [--project /tmp/heldout]
        [--codebook codebooks/impact.yaml]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from quality_report import table

from qualcode.codes import resolve_codebook
from qualcode.evaluate import keyword_baseline, load_reference, machine_codings, score
from qualcode.ingest import ingest_files
from qualcode.segments import coded_units
from qualcode.store import init_project
from qualcode.suggest import suggest

ROOT = Path(__file__).resolve().parent.parent
SETS = ("heldout", "heldout2", "heldout3", "heldout4")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--set", choices=SETS, default="heldout", help="which held-out set")
    parser.add_argument("--project", type=Path, help="where to build the project (default: temp)")
    parser.add_argument("--codebook", type=Path, default=ROOT / "codebooks" / "impact.yaml")
    args = parser.parse_args()
    heldout = ROOT / "benchmarks" / args.set
    folder = args.project or Path(tempfile.mkdtemp(prefix="qualcode-heldout-"))
    shutil.rmtree(folder, ignore_errors=True)
    with init_project(folder, codebook=args.codebook) as project:
        ingest_files(project, [heldout], metadata=heldout / "metadata.csv")
        suggest(project)
        book = resolve_codebook(project)
        reference = load_reference(heldout / "reference.csv", project, book)
        machine = machine_codings(project)
        units = [(s.id, s.text) for s in coded_units(project) if s.id in reference]
        baseline = keyword_baseline(book, units)
        name = f"held out ({len(reference)})"
        table("qualcode suggestions", {name: score(reference, machine, book)})
        table("keyword baseline", {name: score(reference, baseline, book)})
        second = heldout / "coder_b.csv"
        if second.exists():  # a second, independent coder: the ceiling a machine can reach
            other = load_reference(second, project, book)
            both = f"{len(other)} passages"
            table("second coder against the reference", {both: score(reference, other, book)})
            table("qualcode against the second coder", {both: score(other, machine, book)})
            table("keyword baseline against the second coder", {both: score(other, baseline, book)})
    if args.project is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
