"""``qualcode run``: the main job in one call: init, ingest, suggest and exports."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qualcode.codes import CodeRemoval
from qualcode.errors import QualcodeError
from qualcode.ingest import IngestReport, ingest_files
from qualcode.store import init_project
from qualcode.suggest import SuggestReport, suggest

METADATA_NAMES = ("metadata.csv", "metadata.xlsx")


@dataclass
class RunReport:
    project: Path
    ingest: IngestReport
    suggest: SuggestReport
    documents: int
    segments: int
    files: dict[str, Path] = field(default_factory=dict)


def default_out(paths: Sequence[str | Path]) -> Path:
    first = Path(paths[0]).resolve()
    name = first.name if first.is_dir() else first.stem
    return Path("outputs") / (name or "project")


def find_metadata(paths: Sequence[str | Path]) -> Path | None:
    """A ``metadata.csv``/``.xlsx`` lying in the (first) input folder, used when none is given."""
    for raw in paths:
        folder = Path(raw) if Path(raw).is_dir() else None
        if folder:
            for name in METADATA_NAMES:
                if (folder / name).exists():
                    return folder / name
    return None


def run(
    paths: Sequence[str | Path],
    *,
    out: str | Path | None = None,
    codebook: str | Path | None = None,
    metadata: str | Path | None = None,
    unit: str | None = None,
    threshold: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    report: bool = True,
    removals: Sequence[CodeRemoval] = (),
) -> RunReport:
    """Ingest ``paths`` into the project ``out``, suggest codes and write the exports there
    (with ``report`` also ``report.html``)."""
    from qualcode.codes import resolve_codebook
    from qualcode.export.segments import coded_segment_rows, write_segments

    target = Path(out) if out else default_out(paths)
    metadata = metadata or find_metadata(paths)
    created = not target.exists()
    with init_project(target) as project:
        if project.meta("pseudonymised_at"):
            raise QualcodeError(
                f"{target} is pseudonymised: 'run' would read transcripts with their real names",
                f"add them with 'qualcode ingest PATHS --project {target} --pseudonymise --key "
                "KEYFILE', then 'qualcode suggest'",
            )
        try:
            book = resolve_codebook(project, codebook)  # a broken codebook fails before ingest
            ingest_report = ingest_files(project, paths, metadata=metadata, unit=unit)
        except QualcodeError:
            if created:  # nothing of the user's was in it: do not leave an empty project
                project.close()
                shutil.rmtree(target, ignore_errors=True)
            raise
        suggest_report = suggest(
            project, codebook=book, threshold=threshold, removals=removals, progress=progress
        )
        rows = coded_segment_rows(project)
        files = {
            "coded_segments.csv": write_segments(rows, target / "coded_segments.csv"),
            "coded_segments.xlsx": write_segments(rows, target / "coded_segments.xlsx"),
        }
        if report:
            from qualcode.export.report import REPORT_NAME, write_report

            files[REPORT_NAME] = write_report(project, target / REPORT_NAME)[1]
        documents = project.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    return RunReport(
        target, ingest_report, suggest_report, documents, suggest_report.segments, files
    )
