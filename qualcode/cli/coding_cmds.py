"""``qualcode suggest``, ``qualcode segments``, ``qualcode evaluate``, ``qualcode run``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qualcode.cli.options import (
    code_removal_options,
    code_removals,
    codebook_option,
    emit,
    metadata_option,
    output_options,
    project_option,
    threshold_option,
)
from qualcode.errors import QualcodeError
from qualcode.models import STATUSES, UNITS


class Progress:
    """A progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self) -> None:
        self.bar = None
        self.stage = ""
        self.enabled = sys.stderr.isatty()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self.stage:
            self.close()
            self.stage = stage
            self.bar = click.progressbar(length=total, label=stage.capitalize(), file=sys.stderr)
            self.bar.__enter__()
            self.last = 0
        assert self.bar is not None
        self.bar.update(done - self.last)
        self.last = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _print_suggest(report: object) -> None:
    from qualcode.suggest import SuggestReport

    assert isinstance(report, SuggestReport)
    click.echo(f"Pipeline: {report.pipeline}", err=True)
    work = report.work
    if work is not None:
        click.echo(f"Passages: {_work_summary(work, report.segments)}.", err=True)
    for warning in report.codebook_warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    sync = report.sync
    if sync.backup is not None:
        click.echo(f"Backup before removing codes: {sync.backup}", err=True)
    for path, (into, n) in sync.merged.items():
        click.echo(f"Code {path} left the codebook: {n} coding(s) moved to {into}.", err=True)
    for path, n in sync.deleted_codings.items():
        click.echo(f"Code {path} left the codebook: {n} coding(s) deleted.", err=True)


def _work_summary(work: object, segments: int) -> str:
    """What suggest computed now and what it took from earlier runs, in one phrase."""
    from qualcode.suggest import ScoringWork

    assert isinstance(work, ScoringWork)
    parts = []
    if work.tokenised:
        parts.append(f"{work.tokenised} tokenised and matched")
    if work.matched > work.tokenised:
        parts.append(f"{work.matched - work.tokenised} matched again on their stored tokens")
    if segments > work.matched:
        parts.append(f"{segments - work.matched} as in the last run")
    space = "fitted" if work.refitted else "kept"
    if work.folded_in:
        space += f" ({work.folded_in} added)"
    return ", ".join(parts or ["none"]) + f"; similarity space {space}"


def _print_learning(report: object) -> None:
    """What the model learned from the researchers' decisions, per code."""
    from qualcode.suggest.learn import LearningReport

    assert isinstance(report, LearningReport)
    if not report.enabled:
        click.echo("Learning from decisions: off (--no-learning); the codebook alone decides.")
        return
    need = f"a code needs {report.min_positive} positive decisions"
    if not report.models:
        what = f"{report.decisions} decisions" if report.decisions else "no decisions yet"
        click.echo(f"Learning from decisions: {what}, {need}; the codebook alone decides.")
    else:
        n = len(report.models)
        click.echo(
            f"Learned from {report.decisions} decisions ({need}); "
            f"{n} {'code' if n == 1 else 'codes'} with a model:"
        )
        for m in report.models:
            # weak negatives: a person decided on the passage but left this code out
            left_out = f", left out on {m.weak_negatives} more" if m.weak_negatives else ""
            click.echo(
                f"  {m.code:<40} {m.decisions:>4} decisions ({m.positives} coded, "
                f"{m.negatives} rejected{left_out}); model counts for {m.weight:.0%}"
            )
    if report.waiting:
        import textwrap

        waiting = ", ".join(
            f"{m.code} ({m.positives} coded, {m.negatives} rejected, left out on "
            f"{m.weak_negatives})"
            for m in report.waiting
        )
        click.echo(
            textwrap.fill(
                f"No model yet (too few decisions): {waiting}", width=100, subsequent_indent="  "
            )
        )


@click.command()
@project_option
@codebook_option("the project's")
@threshold_option
@click.option("--codes", multiple=True, help="Only suggest these codes (and their sub-codes).")
@click.option(
    "--no-learning",
    is_flag=True,
    help="Ignore what was learned from accepted and rejected codings: the codebook alone.",
)
@click.option(
    "--refit",
    is_flag=True,
    help="Build the similarity space again from all passages (it is otherwise kept until the "
    "passages have changed by 10%): the scores a project built in one go would get.",
)
@code_removal_options
def suggest(
    project: Path,
    codebook: Path | None,
    threshold: float | None,
    codes: tuple[str, ...],
    no_learning: bool,
    refit: bool,
    merge_into: tuple[str, ...],
    delete_codings: tuple[str, ...],
) -> None:
    """Suggest codes for every segment, with the reason for each.

    Codes that people accepted, coded or rejected often enough are also scored by a model
    learned from those decisions (unless --no-learning). A code a person rejected on a
    segment is never suggested there again. Earlier suggestions for the same codes are
    replaced; accepted, rejected and manual codings are never touched.

    A code removed from (or renamed in) the codebook while people coded with it stops the
    command until you say what happens to those codings: --merge-into OLD=NEW or
    --delete-codings OLD.
    """
    from qualcode.store import open_project
    from qualcode.suggest import suggest as run_suggest

    progress = Progress()
    with open_project(project) as proj:
        report = run_suggest(
            proj,
            codebook=codebook,
            threshold=threshold,
            codes=codes,
            learning=not no_learning,
            removals=code_removals(merge_into, delete_codings),
            refit=refit,
            progress=progress,
        )
    progress.close()
    _print_suggest(report)
    click.echo(
        f"{report.suggestions} suggestions on {report.segments} segments "
        f"(threshold {report.threshold:.2f})."
    )
    for path, n in report.per_top_code.items():
        click.echo(f"  {path:<28} {n}")
    if report.learning is not None:
        _print_learning(report.learning)


@click.command()
@project_option
@click.option("--code", help="Only segments with this code or one of its sub-codes.")
@click.option("--status", type=click.Choice(STATUSES), help="Only codings with this status.")
@click.option("--speaker", help="Only segments of this speaker label.")
@click.option("--document", "-d", help="Only this document.")
@click.option("--coder", help="Only this coder's codings (machine suggestions: qualcode).")
@click.option("--uncoded", is_flag=True, help="Also list segments without codes.")
@output_options
def segments(
    project: Path,
    code: str | None,
    status: str | None,
    speaker: str | None,
    document: str | None,
    coder: str | None,
    uncoded: bool,
    fmt: str,
    output: Path,
) -> None:
    """List coded segments with their codes, scores and explanations."""
    from qualcode.codes import code_ids
    from qualcode.documents import find_document
    from qualcode.export.segments import coded_segment_rows
    from qualcode.store import open_project

    with open_project(project) as proj:
        doc_name = find_document(proj, document)["name"] if document else None
        rows = coded_segment_rows(proj, statuses=[status] if status else None, coder=coder)
        known = set(code_ids(proj))
    if code:
        wanted_code = code.strip("/")
        if not any(p == wanted_code or p.endswith("/" + wanted_code) for p in known):
            raise QualcodeError(
                f"no code '{code}' in this project",
                "see the codes with 'qualcode codebook show FILE'",
            )
        # full path, id or path suffix (ids are unique), and everything below it:
        # 'financieel' selects impact/financieel and impact/financieel/schulden
        wanted = "/" + code.strip("/") + "/"
        rows = [r for r in rows if r["code"] and wanted in "/" + r["code"] + "/"]
    if speaker:
        rows = [r for r in rows if r["speaker"].casefold() == speaker.casefold()]
    if doc_name:
        rows = [r for r in rows if r["document"] == doc_name]
    if not uncoded and not code:
        rows = [r for r in rows if r["code"]]
    columns = [
        "document",
        "segment_id",
        "speaker",
        "code",
        "status",
        "score",
        "explanation",
        "text",
    ]
    if fmt != "table":
        from qualcode.export.segments import COLUMNS

        columns = COLUMNS
    emit(rows, columns, fmt, output, wrap="text")


@click.command()
@project_option
@click.option(
    "--reference",
    "-r",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="CSV with document,order,codes (the human reference coding).",
)
@codebook_option("the project's")
@click.option(
    "--baseline", is_flag=True, help="Score a plain keyword search with the same keywords instead."
)
@click.option(
    "--coder",
    default="qualcode",
    show_default=True,
    help="Whose codings to score (qualcode = the machine's suggestions).",
)
@click.option("--all-codes", is_flag=True, help="List every code, not only the levels.")
@output_options
def evaluate(
    project: Path,
    reference: Path,
    codebook: Path | None,
    baseline: bool,
    coder: str,
    all_codes: bool,
    fmt: str,
    output: Path,
) -> None:
    """Precision, recall, F1 and Cohen's kappa per code and level against a reference."""
    from qualcode.evaluate import evaluate as run_evaluate
    from qualcode.store import open_project

    with open_project(project) as proj:
        result = run_evaluate(proj, reference, codebook=codebook, baseline=baseline, coder=coder)
    rows = [
        {
            "level": lv.level or "(top)",
            "codes": len(lv.codes),
            "precision": lv.macro_precision,
            "recall": lv.macro_recall,
            "f1": lv.macro_f1,
            "kappa": lv.macro_kappa,
            "micro_f1": lv.micro_f1,
        }
        for lv in result.levels
    ]
    code_rows = [
        {
            "code": s.code,
            "support": s.support,
            "predicted": s.predicted,
            "precision": s.precision,
            "recall": s.recall,
            "f1": s.f1,
            "kappa": s.kappa,
        }
        for s in result.codes
        if s.support or s.predicted
    ]
    what = "keyword baseline" if baseline else f"codings of {coder}"
    click.echo(
        f"Evaluated {what} on {result.segments} reference segments (macro averages per level):",
        err=True,
    )
    if all_codes:
        emit(
            code_rows,
            ["code", "support", "predicted", "precision", "recall", "f1", "kappa"],
            fmt,
            output,
        )
    else:
        emit(
            rows, ["level", "codes", "precision", "recall", "f1", "kappa", "micro_f1"], fmt, output
        )


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project/output folder (default: outputs/<name of input>).",
)
@codebook_option("codebooks/impact.yaml")
@metadata_option("Metadata CSV/XLSX (default: metadata.csv in the input folder, if any).")
@click.option("--unit", type=click.Choice(UNITS), help="Coding unit (default: turn).")
@threshold_option
@click.option(
    "--no-report",
    is_flag=True,
    help="Skip report.html (the slowest export) while you refine the codebook; "
    "'qualcode report' writes it later.",
)
@code_removal_options
def run(
    paths: tuple[Path, ...],
    out: Path | None,
    codebook: Path | None,
    metadata: Path | None,
    unit: str | None,
    threshold: float | None,
    no_report: bool,
    merge_into: tuple[str, ...],
    delete_codings: tuple[str, ...],
) -> None:
    """Ingest PATHS (files or folders), suggest codes and write the exports: the main job.

    The output folder is itself a project: every other command accepts it as --project.
    """
    from qualcode.cli.project_cmds import print_ingest_report
    from qualcode.pipeline import run as run_pipeline

    progress = Progress()
    report = run_pipeline(
        paths,
        out=out,
        codebook=codebook,
        metadata=metadata,
        unit=unit,
        threshold=threshold,
        progress=progress,
        report=not no_report,
        removals=code_removals(merge_into, delete_codings),
    )
    progress.close()
    print_ingest_report(report.ingest)
    _print_suggest(report.suggest)
    s = report.suggest
    click.echo(
        f"\n{report.documents} documents, {report.segments} segments to code, "
        f"{s.suggestions} suggestions (threshold {s.threshold:.2f}):"
    )
    for path, n in s.per_top_code.items():
        click.echo(f"  {path:<28} {n}")
    click.echo(f"\nProject and files in {report.project}/:")
    for name in report.files:
        click.echo(f"  {name}" + ("  (unchanged)" if name in report.unchanged else ""))
    for name in report.outdated:
        click.echo(f"  {name}  (from an earlier run: 'qualcode report -p {report.project}')")
    for note in report.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    click.echo(f"\nNext: qualcode segments --project {report.project}")


COMMANDS = [suggest, segments, evaluate, run]
