"""``qualcode run``: the main job in one call: init, ingest, suggest and exports."""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.codes import CodeRemoval
from qualcode.errors import QualcodeError
from qualcode.ingest import IngestReport, ingest_files
from qualcode.store import Project, init_project
from qualcode.suggest import SuggestReport, suggest

METADATA_NAMES = ("metadata.csv", "metadata.xlsx")
# Below this many rows forking a writer costs more than writing the tables in turn.
BACKGROUND_MIN_ROWS = 2000


@dataclass
class Exports:
    """What :func:`write_exports` did."""

    files: dict[str, Path]  # every export of the run, by name
    unchanged: list[str] = field(default_factory=list)  # left as they were: same content
    outdated: list[str] = field(default_factory=list)  # from an earlier run, not rewritten
    notes: list[str] = field(default_factory=list)  # for the user: what was not written, and why


@dataclass
class RunReport:
    project: Path
    ingest: IngestReport
    suggest: SuggestReport
    documents: int
    segments: int
    exports: Exports

    @property
    def files(self) -> dict[str, Path]:
        return self.exports.files

    @property
    def unchanged(self) -> list[str]:
        return self.exports.unchanged

    @property
    def outdated(self) -> list[str]:
        return self.exports.outdated

    @property
    def notes(self) -> list[str]:
        return self.exports.notes


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
        exports = write_exports(project, target, report=report)
        documents = project.conn.execute("SELECT count(*) FROM documents").fetchone()[0]
    return RunReport(
        target, ingest_report, suggest_report, documents, suggest_report.segments, exports
    )


# -- the exports of a run ----------------------------------------------------------------------

TABLES = ("coded_segments.csv", "coded_segments.xlsx")
_DIGEST_KEY = "exported:"


def content_digest(project: Project) -> str:
    """Changes whenever anything an export shows may have changed: documents, speakers,
    segments, codes, codings (not their run ids or times: every suggest renews those), memos,
    topics, and qualcode's version."""
    import qualcode

    queries = (
        "SELECT id, name, sha256, attributes FROM documents ORDER BY id",
        "SELECT * FROM speakers ORDER BY id",
        "SELECT id, document_id, turn_id, ord, unit, start, end, has_words FROM segments"
        " ORDER BY id",
        "SELECT * FROM codes ORDER BY id",
        "SELECT segment_id, code_id, coder, status, score, source, explanation FROM codings"
        " ORDER BY segment_id, code_id, coder, status",
        "SELECT * FROM memos ORDER BY id",
        "SELECT * FROM topics ORDER BY id",
    )
    digest = hashlib.sha256(qualcode.__version__.encode())
    for query in queries:
        digest.update(query.encode())
        for row in project.conn.execute(query):
            digest.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def write_exports(project: Project, target: Path, *, report: bool = True) -> Exports:
    """``coded_segments.csv``/``.xlsx`` and (with ``report``) ``report.html`` in ``target``.

    A file that exists and was written from the same content (:func:`content_digest`) is left
    as it is: re-running on an unchanged study writes nothing. The two tables are written in a
    forked process (Linux) while this one builds the report, so both cores work. A table too
    long for one Excel sheet is written as CSV only.
    """
    from qualcode.export.report import REPORT_NAME
    from qualcode.export.segments import coded_segment_rows
    from qualcode.export.tables import EXCEL_MAX_ROWS

    digest = content_digest(project)
    names = [*TABLES, *([REPORT_NAME] if report else [])]
    stale = [n for n in names if not _current(project, target, n, digest)]
    result = Exports({n: target / n for n in names})
    report_file = target / REPORT_NAME
    if not report and report_file.is_file() and not _current(project, target, REPORT_NAME, digest):
        result.outdated.append(REPORT_NAME)
    pending = None
    if any(n in stale for n in TABLES):
        rows = coded_segment_rows(project)
        if len(rows) >= EXCEL_MAX_ROWS and "coded_segments.xlsx" in stale:
            stale.remove("coded_segments.xlsx")
            del result.files["coded_segments.xlsx"]
            (target / "coded_segments.xlsx").unlink(missing_ok=True)  # it would be out of date
            result.notes.append(
                f"coded_segments.xlsx not written: {len(rows):,} rows do not fit in one Excel "
                "sheet; coded_segments.csv has them all"
            )
        tables = [target / n for n in TABLES if n in stale]
        pending = _start_tables(rows, tables, background=REPORT_NAME in stale)
    if REPORT_NAME in stale:
        from qualcode.export.report import write_report

        write_report(project, target / REPORT_NAME)
    if pending is not None:
        pending()
    mark_current(project, stale, digest)
    result.unchanged = [n for n in result.files if n not in stale]
    return result


def _current(project: Project, target: Path, name: str, digest: str) -> bool:
    return (target / name).is_file() and project.meta(_DIGEST_KEY + name) == digest


def mark_current(project: Project, names: Sequence[str], digest: str | None = None) -> None:
    """Record that the files ``names`` in the project folder show its current content."""
    digest = digest or content_digest(project)
    with project.transaction() as conn:
        conn.executemany(
            "INSERT OR REPLACE INTO project (key, value) VALUES (?, ?)",
            [(_DIGEST_KEY + n, digest) for n in names],
        )


_ROWS: list[dict[str, Any]] | None = None


def _write_tables(paths: Sequence[Path]) -> None:
    from qualcode.export.segments import write_segments

    assert _ROWS is not None
    for path in paths:
        write_segments(_ROWS, path)


def _start_tables(
    rows: list[dict[str, Any]], paths: Sequence[Path], *, background: bool
) -> Callable[[], None] | None:
    """Write the tables now, or start a forked process for them and return the wait."""
    global _ROWS
    _ROWS = rows
    pool = None
    if background and sys.platform.startswith("linux") and len(rows) >= BACKGROUND_MIN_ROWS:
        import multiprocessing

        try:
            pool = multiprocessing.get_context("fork").Pool(1)  # inherits the rows
        except OSError:  # no processes to be had (a limit, a sandbox): write them here
            pool = None
    if pool is None:
        try:
            _write_tables(paths)
        finally:
            _ROWS = None
        return None
    _ROWS = None  # the child has its copy
    result = pool.apply_async(_write_tables, (list(paths),))
    pool.close()

    def wait() -> None:
        try:
            result.get()  # an error in the child is raised here, with its message
        finally:
            pool.join()

    return wait
