"""Pseudonymise a whole project in one transaction: text, offsets, labels, names, everything.

``pseudonymise`` (``qualcode pseudonymise``) and ``ingest_pseudonymised`` (``qualcode ingest
--pseudonymise``) call the same three steps:

1. :func:`prepare` checks everything a user can get wrong (key file, backups, lists) and loads
   deduce, before anything is changed;
2. :func:`apply` finds the identifiers, assigns pseudonyms and rewrites the project database in
   the caller's transaction: document text (turn and segment offsets move with it, codings stay
   on their segments), speaker labels, document names, attributes, memos, explanations that
   quote the text, and every other text column; stored tokens of changed passages are
   recomputed; the key file is written last, so an error anywhere leaves project and key as
   they were;
3. :func:`finish`, after the commit: settings, exports in the project folder, backups, VACUUM.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.privacy import rewrite
from qualcode.privacy.detect import Detector, TermMatcher, dutch_words, load_deduce
from qualcode.privacy.key import PseudonymKey, check_key_path
from qualcode.privacy.lists import Wordlists, load_wordlists
from qualcode.privacy.names import normalise_name
from qualcode.privacy.registry import Registry
from qualcode.store import BACKUP_DIR, DB_NAME, SETTINGS_NAME, Project, now
from qualcode.suggest import features

Notify = Callable[[str], None]

# Files `qualcode run` writes into the project folder: written again from the database.
KNOWN_EXPORTS = ("coded_segments.csv", "coded_segments.xlsx", "report.html")


@dataclass(frozen=True)
class PrivacyOptions:
    key: Path | None
    allow_file: Path | None = None
    deny_file: Path | None = None
    delete_backups: bool = False
    move_backups_to: Path | None = None


@dataclass
class PseudonymiseReport:
    key: Path
    documents: int = 0
    documents_changed: int = 0
    replaced: dict[str, int] = field(default_factory=dict)  # category → occurrences in text
    speakers_renamed: int = 0
    documents_renamed: int = 0
    memos_changed: int = 0
    fields_changed: int = 0  # explanations, attributes, code texts, run parameters, ...
    tokens_recomputed: int = 0
    key_entries: int = 0
    key_added: int = 0
    exports_rewritten: list[Path] = field(default_factory=list)
    backups_deleted: list[Path] = field(default_factory=list)
    backups_moved: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Job:
    """Everything :func:`apply` needs, checked and loaded before the transaction starts."""

    options: PrivacyOptions
    key: PseudonymKey
    wordlists: Wordlists
    detector: Detector
    backups: list[Path]
    new_settings: dict[str, Any] | None = None
    exports: list[Path] = field(default_factory=list)


# -- 1. checks before anything changes ----------------------------------------------------


def _outside(path: Path, project: Project, what: str) -> Path:
    resolved = path.expanduser().resolve()
    root = project.path.resolve()
    if resolved == root or resolved.is_relative_to(root):
        raise QualcodeError(
            f"{path}: the {what} may not be inside the project folder {project.path}",
            f"it holds original names: keep the {what} outside the project",
        )
    return resolved


def list_backups(project: Project) -> list[Path]:
    folder = project.path / BACKUP_DIR
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def _check_backups(project: Project, options: PrivacyOptions) -> list[Path]:
    backups = list_backups(project)
    if backups and not (options.delete_backups or options.move_backups_to):
        raise QualcodeError(
            f"{project.path / BACKUP_DIR}: {len(backups)} backup(s) of the project still hold the"
            " original text; nothing was changed",
            "add --delete-backups, or --move-backups FOLDER to keep them outside the project",
        )
    return backups


def prepare(project: Project, options: PrivacyOptions, notify: Notify | None = None) -> Job:
    """Check the options and load what is needed; raises before anything is changed."""
    key_path = check_key_path(options.key, project.path)
    if options.deny_file is not None:
        _outside(options.deny_file, project, "deny-list")
    if options.delete_backups and options.move_backups_to is not None:
        raise QualcodeError(
            "--delete-backups and --move-backups cannot be used together", "choose one"
        )
    if options.move_backups_to is not None:
        _outside(options.move_backups_to, project, "folder for the backups")
    backups = _check_backups(project, options)
    settings = project.settings()
    wordlists = load_wordlists(
        settings, project.settings_path, options.allow_file, options.deny_file
    )
    key = PseudonymKey.load(key_path)
    deduce = load_deduce(notify)
    detector = Detector(wordlists, deduce, dutch_words())
    return Job(options, key, wordlists, detector, backups)


# -- 2. the rewrite, inside the caller's transaction ----------------------------------------


def _matchable(category: str, surface: str, wordlists: Wordlists) -> bool:
    """Known terms looked for everywhere. Ages and bare years depend on their context
    ('ik ben 45'), so they are replaced where they are found, not wherever the number occurs."""
    if category == "LEEFTIJD" or (category == "DATUM" and len(surface) < 6):
        return False
    return len(surface.strip()) >= 2 and not wordlists.allows(surface)


@dataclass
class _Plan:
    """Who becomes what: the documents with their findings, and the pseudonym of every term."""

    docs: list[rewrite.Document]
    speakers: list[Any]
    named: set[int]  # ids of speakers whose label is a name
    memos: list[tuple[int, str, list[Any]]]
    registry: Registry
    matcher: TermMatcher
    loose: TermMatcher


def _plan(project: Project, job: Job, notify: Notify | None) -> _Plan:
    conn = project.conn
    detector, wordlists = job.detector, job.wordlists
    docs = rewrite.load_documents(conn)
    speakers = conn.execute(
        "SELECT id, document_id, label, is_interviewer, attributes FROM speakers ORDER BY id"
    ).fetchall()
    # Speaker labels that are names become R1, R2... (I1... for an interviewer).
    named = {
        s["id"]
        for s in speakers
        if (detector.is_name_label(s["label"]) and not wordlists.allows(s["label"]))
        or normalise_name(s["label"]) in wordlists.denied
    }
    registry = Registry(job.key, {s["label"].casefold() for s in speakers if s["id"] not in named})
    registry.assign_speakers(
        (s["label"], bool(s["is_interviewer"]), s["document_id"])
        for s in speakers
        if s["id"] in named
    )
    labels_by_doc: dict[int, list[str]] = {}
    for s in speakers:
        labels_by_doc.setdefault(s["document_id"], []).append(s["label"])
    registry.check_labels(labels_by_doc, {d.id: d.name for d in docs})

    # Identifiers: metadata, deny-list, and what deduce and the patterns find in every passage.
    attributes = [r[0] for r in conn.execute("SELECT attributes FROM documents")]
    attributes += [s["attributes"] for s in speakers]
    strong = rewrite.metadata_terms(attributes, wordlists) + list(wordlists.deny)
    if notify:
        notify(f"Looking for identifiers in {len(docs)} document(s)")
    for doc in docs:
        doc.pieces = rewrite.pieces(doc)
        doc.findings = rewrite.detect_in(detector, doc.text, doc.pieces)
    memos = [
        (r["id"], r["text"], rewrite.detect_in(detector, r["text"], [(0, len(r["text"]))]))
        for r in conn.execute("SELECT id, text FROM memos ORDER BY id")
    ]
    found = [f for d in docs for f in d.findings] + [f for m in memos for f in m[2]]
    registry.assign_names(strong + [(f.category, f.text) for f in found])
    terms = [s for s, (c, _) in registry.surfaces.items() if _matchable(c, s, wordlists)]
    return _Plan(
        docs, speakers, named, memos, registry, TermMatcher(terms), TermMatcher(terms, loose=True)
    )


def apply(project: Project, job: Job, notify: Notify | None = None) -> PseudonymiseReport:
    """Pseudonymise the project database; call inside ``project.transaction()``."""
    conn = project.conn
    plan = _plan(project, job, notify)
    registry, matcher = plan.registry, plan.matcher
    scrub = rewrite.Scrubber(registry, matcher, plan.loose)
    report = PseudonymiseReport(job.key.path, documents=len(plan.docs))

    labels = {s["id"]: s["label"] for s in plan.speakers}
    changed_segments: dict[int, tuple[str, str, rewrite.OffsetMap]] = {}
    replaced: Counter[str] = Counter()
    for doc in plan.docs:
        reps = rewrite.replacements(doc, labels, plan.named, registry, matcher, replaced)
        if reps:
            report.documents_changed += 1
            changed_segments.update(rewrite.rewrite_document(conn, doc, reps))
    report.replaced = dict(sorted(replaced.items()))
    for s in plan.speakers:
        if s["id"] in plan.named:
            conn.execute(
                "UPDATE speakers SET label = ? WHERE id = ?",
                (registry.speaker_code(s["label"]), s["id"]),
            )
            report.speakers_renamed += 1
    report.documents_renamed = rewrite.rename_documents(conn, plan.docs, scrub)
    report.fields_changed += rewrite.rewrite_attributes(conn, registry, scrub, job.wordlists)
    report.memos_changed = rewrite.rewrite_memos(conn, plan.memos, registry, matcher)
    report.fields_changed += rewrite.rewrite_explanations(conn, changed_segments, scrub)
    # suggest's stored matches, lemmas and similarity space hold words of the transcripts
    # (also inside binary arrays that no text pass can read): dropped, computed again later
    features.clear(conn)
    report.fields_changed += rewrite.rewrite_other_columns(conn, scrub)
    report.tokens_recomputed = rewrite.recompute_tokens(project, list(changed_segments))
    rewrite.verify(conn, matcher, plan.loose)

    settings = project.settings()
    privacy = settings.pop("privacy", None)
    cleaned = scrub.value(settings)
    if cleaned != settings:
        job.new_settings = {**cleaned, **({"privacy": privacy} if privacy is not None else {})}
    job.exports = _check_files(project, scrub, plan.loose)
    job.backups = _check_backups(project, job.options)  # ingest may have made one

    conn.execute(
        "INSERT OR REPLACE INTO project (key, value) VALUES ('pseudonymised_at', ?)", (now(),)
    )
    report.key_added = registry.record()
    report.key_entries = len(job.key.entries)
    run_id = project.start_run("pseudonymise", {"documents": report.documents})
    project.finish_run(run_id, {"replaced": report.replaced, "documents": report.documents})
    job.key.save()  # last: any error before this leaves the key file as it was
    return report


def _file_texts(path: Path) -> Iterable[str]:
    """The text in a file as far as it can be read: the bytes as UTF-8 and UTF-16, and the
    members of a zip archive (xlsx, docx, odt)."""
    import zipfile

    data = path.read_bytes()
    yield data.decode("utf-8", errors="ignore")
    yield data.decode("utf-16-le", errors="ignore")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                # themes and styles hold font names such as 'Hans' (Chinese script), no text
                if not re.search(r"theme|styles|fontTable", member):
                    yield archive.read(member).decode("utf-8", errors="ignore")


def _check_files(project: Project, scrub: rewrite.Scrubber, loose: TermMatcher) -> list[Path]:
    """Exports ``qualcode run`` wrote are rewritten after the commit; any other file in the
    project folder that holds an identifier stops the run (it is the user's to move)."""
    exports, leaks = [], []
    skip = {DB_NAME, f"{DB_NAME}-journal", f"{DB_NAME}-wal", f"{DB_NAME}-shm", SETTINGS_NAME}
    for path in sorted(project.path.rglob("*")):
        rel = path.relative_to(project.path)
        if not path.is_file() or rel.parts[0] == BACKUP_DIR or str(rel) in skip:
            continue
        if len(rel.parts) == 1 and rel.name in KNOWN_EXPORTS:
            exports.append(path)
            continue
        if loose.regex is None:
            continue
        if scrub.file_name(str(rel)) != str(rel) or any(
            loose.regex.search(text) for text in _file_texts(path)
        ):
            leaks.append(str(rel))
    if leaks:
        more = f" (and {len(leaks) - 3} more)" if len(leaks) > 3 else ""
        raise QualcodeError(
            f"{project.path}: {', '.join(leaks[:3])}{more} hold(s) original names;"
            " nothing was changed",
            "move these files out of the project folder or delete them, then run again",
        )
    return exports


# -- 3. after the commit ----------------------------------------------------------------------


def _write_export(project: Project, path: Path) -> None:
    if path.name == "report.html":
        from qualcode.export.report import write_report

        write_report(project, path)
    else:
        from qualcode.export.segments import export_segments

        export_segments(project, path)


def finish(project: Project, job: Job, report: PseudonymiseReport) -> PseudonymiseReport:
    """Settings, exports in the project folder, backups, and a VACUUM of the database."""
    import shutil

    if job.new_settings is not None:
        project.update_settings(**job.new_settings)
    for path in job.exports:
        try:
            _write_export(project, path)
            report.exports_rewritten.append(path)
        except Exception as exc:  # the database is committed: never leave the old file
            try:
                path.unlink(missing_ok=True)
                report.warnings.append(
                    f"{path} could not be written again ({exc}) and was deleted: it held the"
                    " original names; make it again with the export commands"
                )
            except OSError:
                report.warnings.append(
                    f"{path} could not be written again ({exc}) and still holds the original"
                    " names: delete it"
                )
    for backup in job.backups:
        if job.options.move_backups_to is not None:
            target = job.options.move_backups_to.expanduser()
            target.mkdir(parents=True, exist_ok=True)
            report.backups_moved.append(Path(shutil.move(str(backup), target / backup.name)))
        elif job.options.delete_backups:
            backup.unlink()
            report.backups_deleted.append(backup)
    # free pages are already zeroed (secure_delete); VACUUM also compacts the file
    project.conn.execute("VACUUM")
    return report


def pseudonymise(
    project: Project, options: PrivacyOptions, *, notify: Notify | None = None
) -> PseudonymiseReport:
    """Replace every identifier in the project by a pseudonym; the key goes to ``options.key``."""
    job = prepare(project, options, notify)
    with project.transaction():
        report = apply(project, job, notify)
    return finish(project, job, report)


def ingest_pseudonymised(
    project: Project,
    paths: Iterable[str | Path],
    options: PrivacyOptions,
    *,
    notify: Notify | None = None,
    **ingest_options: Any,
) -> tuple[Any, PseudonymiseReport]:
    """``ingest_files`` and :func:`pseudonymise` in one transaction: the original text of the
    new transcripts is never committed to the project."""
    from qualcode.ingest import ingest_files

    job = prepare(project, options, notify)
    ingest_report = None
    try:
        with project.transaction():
            ingest_report = ingest_files(project, paths, **ingest_options)
            report = apply(project, job, notify)
    except BaseException:
        if ingest_report is not None and ingest_report.backup is not None:
            ingest_report.backup.unlink(missing_ok=True)  # nothing was changed
        raise
    report = finish(project, job, report)
    if ingest_report.backup in report.backups_deleted:
        ingest_report.backup = None
    elif ingest_report.backup is not None:
        moved = [p for p in report.backups_moved if p.name == ingest_report.backup.name]
        ingest_report.backup = moved[0] if moved else ingest_report.backup
    return ingest_report, report
