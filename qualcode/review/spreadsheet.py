"""Review in Excel: export the open suggestions to an .xlsx, import the decisions back.

The file has one visible sheet ``review`` (one row per suggestion; the researcher fills in
``besluit``, ``andere_code`` and ``memo``), a sheet with instructions, a hidden sheet ``codes``
(the list behind the ``andere_code`` dropdown) and two very hidden sheets that an import
checks: ``qualcode`` (file format, project uid, coder) and ``qualcode_rows`` (a hash of each
row's passage, so an edited text is noticed instead of silently ignored).

An import validates every row before it writes anything, makes a backup when something will
change, and applies all decisions in one transaction. Importing the same file twice changes
nothing the second time.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qualcode.coding import (
    CodeRef,
    add_code,
    add_memo,
    check_coder,
    decide,
    find_code,
    project_codes,
)
from qualcode.errors import QualcodeError
from qualcode.models import Segment
from qualcode.review import ReviewItem, review_items
from qualcode.segments import all_segments
from qualcode.store import Project, now

FORMAT = "qualcode-review"
FORMAT_VERSION = 1
SOURCE = "review:xlsx"
MAIN_SHEET = "review"
CODES_SHEET = "codes"
META_SHEET = "qualcode"
ROWS_SHEET = "qualcode_rows"
HELP_SHEET = "uitleg"
COLUMNS = [
    "segment_id", "document", "spreker", "context", "tekst", "code", "label", "score", "uitleg",
    "besluit", "andere_code", "memo",
]  # fmt: skip
WIDTHS = {
    "segment_id": 11, "document": 24, "spreker": 18, "context": 40, "tekst": 70, "code": 30,
    "label": 20, "score": 8, "uitleg": 48, "besluit": 14, "andere_code": 30, "memo": 36,
}  # fmt: skip
CONTEXT_CHARS = 400
# Dutch and English spellings a researcher may type in 'besluit' (compared case-insensitively).
DECISION_WORDS = {
    **dict.fromkeys(
        ["accepteren", "accepteer", "geaccepteerd", "accept", "accepted", "ja", "j", "yes", "y",
         "ok", "✓", "✔", "+"],
        "accepted",
    ),
    **dict.fromkeys(
        ["afwijzen", "afgewezen", "wijs af", "reject", "rejected", "nee", "n", "no", "✗", "✘",
         "-"],
        "rejected",
    ),
}  # fmt: skip
DECISION_CELL = {"accepted": "accepteren", "manual": "accepteren", "rejected": "afwijzen"}
HELP_LINES = [
    "Zo beoordeel je de suggesties van qualcode in dit bestand (tabblad 'review'):",
    "besluit: kies 'accepteren' als de code bij de passage past, 'afwijzen' als dat niet zo is;"
    " leeg laten = nog geen besluit.",
    "andere_code: past een andere code beter? Kies die uit de lijst (of typ het pad of de id);"
    " de voorgestelde code wordt dan afgewezen, tenzij je bij besluit 'accepteren' kiest.",
    "memo: een notitie bij de passage (komt als memo in het project).",
    "Verander de kolommen segment_id, code en tekst niet: qualcode herkent de passages daaraan.",
    "Importeren: qualcode review import BESTAND.xlsx --project MAP --coder NAAM"
    " (kan vaker; al verwerkte besluiten veranderen niet).",
]


@dataclass(frozen=True)
class ExportReport:
    path: Path
    coder: str
    rows: int
    decided: int  # rows with an earlier decision filled in (include_decided)


@dataclass
class ImportReport:
    path: Path
    coder: str
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    other_codes: int = 0
    memos: int = 0
    unchanged: int = 0
    empty: int = 0
    backup: Path | None = None

    @property
    def changes(self) -> int:
        return self.accepted + self.rejected + self.other_codes + self.memos


def text_hash(text: str) -> str:
    """Hash of a passage as it stands in a cell; robust to Excel's line endings and spaces."""
    norm = " ".join(unicodedata.normalize("NFC", str(text)).split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _speaker(segment: Segment) -> str:
    return f"{segment.speaker} ({segment.role})" if segment.role else segment.speaker


def _row(item: ReviewItem) -> dict[str, Any]:
    return {
        "segment_id": item.segment.id,
        "document": item.segment.document,
        "spreker": _speaker(item.segment),
        "context": _shorten(item.context, CONTEXT_CHARS),
        "tekst": item.segment.text,
        "code": item.code.path,
        "label": item.code.label,
        "score": round(item.score, 3) if item.score is not None else None,
        "uitleg": item.explanation,
        "besluit": DECISION_CELL.get(item.decision or "", ""),
        "andere_code": "",
        "memo": "",
    }


def export_review(
    project: Project,
    path: str | Path,
    *,
    coder: str,
    code: str | None = None,
    order: str = "document",
    include_decided: bool = False,
) -> ExportReport:
    """Write the suggestions open for ``coder`` (optionally one code and its sub-codes) to an
    .xlsx review file; ``include_decided`` adds the coder's earlier decisions, filled in."""
    from openpyxl.utils import get_column_letter

    from qualcode.export.tables import (
        add_dropdown,
        add_hidden_sheet,
        cell_text,
        save_workbook,
        write_xlsx,
    )

    coder = check_coder(coder)
    target = Path(path)
    if target.suffix.lower() != ".xlsx":
        raise QualcodeError(f"cannot write '{target.name}'", "use a file name ending in .xlsx")
    items = review_items(project, coder, code=code, order=order, include_decided=include_decided)
    rows = [_row(item) for item in items]
    book = write_xlsx(
        target,
        [
            (MAIN_SHEET, COLUMNS, rows),
            (HELP_SHEET, ["uitleg"], [{"uitleg": t} for t in HELP_LINES]),
        ],
        widths={**WIDTHS, f"{HELP_SHEET}:uitleg": 120},
        wrap=("context", "tekst", "uitleg", "memo", "code", "andere_code"),
        number_formats={"score": "0.00"},
        streaming=True,  # a large study has tens of thousands of suggestions to review
    )
    sheet = book[MAIN_SHEET]
    codes = project_codes(project)
    add_hidden_sheet(book, CODES_SHEET, [(c.path, c.label) for c in codes])
    last = max(len(rows), 1) + 1
    decision_col = get_column_letter(COLUMNS.index("besluit") + 1)
    other_col = get_column_letter(COLUMNS.index("andere_code") + 1)
    add_dropdown(
        sheet,
        f"{decision_col}2:{decision_col}{last}",
        choices=["accepteren", "afwijzen"],
        title="besluit",
        prompt="accepteren, afwijzen, of leeg laten",
    )
    if codes:
        add_dropdown(
            sheet,
            f"{other_col}2:{other_col}{last}",
            source=f"{CODES_SHEET}!$A$1:$A${len(codes)}",
            title="andere code",
            prompt="een code die beter past (optioneel)",
        )
    meta = [
        ("format", FORMAT),
        ("version", FORMAT_VERSION),
        ("project_uid", project.uid),
        ("project", str(project.path)),
        ("coder", coder),
        ("code", code or ""),
        ("order", order),
        ("exported_at", now()),
    ]
    add_hidden_sheet(book, META_SHEET, meta, very_hidden=True)
    add_hidden_sheet(
        book,
        ROWS_SHEET,
        [("segment_id", "code", "text_hash")]
        + [(r["segment_id"], r["code"], text_hash(cell_text(r["tekst"]))) for r in rows],
        very_hidden=True,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    save_workbook(book, target)
    decided = sum(1 for item in items if item.decision)
    return ExportReport(target, coder, len(rows), decided)


# -- import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Decision:
    """One filled-in row of a review file, checked against the project."""

    row: int  # the row number Excel shows
    segment: Segment
    code: CodeRef
    decision: str | None
    other: CodeRef | None
    memo: str
    score: float | None
    explanation: str | None


class _DryRun(Exception):
    """Raised to roll back a trial run of the import (to count what it would change)."""


def _read_workbook(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The sheets an import needs, as rows of values; one-line errors for anything else."""
    import zipfile

    from openpyxl import load_workbook

    if not path.is_file():
        raise QualcodeError(f"{path}: file not found", "check the file name")
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError, TypeError) as exc:
        raise QualcodeError(
            f"{path}: not an Excel .xlsx file that can be read ({type(exc).__name__}: {exc})",
            "export a new review file with 'qualcode review export'",
        ) from exc
    except Exception as exc:  # openpyxl raises many kinds of errors on damaged files
        raise QualcodeError(
            f"{path}: the file is damaged ({type(exc).__name__})",
            "export a new review file with 'qualcode review export'",
        ) from exc
    try:
        if META_SHEET not in book.sheetnames or ROWS_SHEET not in book.sheetnames:
            raise QualcodeError(
                f"{path}: not a qualcode review file (its hidden '{META_SHEET}' sheet is missing)",
                "import a file made by 'qualcode review export'",
            )
        if MAIN_SHEET not in book.sheetnames:
            raise QualcodeError(
                f"{path}: the sheet '{MAIN_SHEET}' is missing", "do not rename or delete it"
            )
        return {
            name: [tuple(r) for r in book[name].iter_rows(values_only=True)]
            for name in (META_SHEET, ROWS_SHEET, MAIN_SHEET)
        }
    finally:
        book.close()


def _check_meta(path: Path, meta: dict[str, Any], project: Project, coder: str) -> None:
    if meta.get("format") != FORMAT:
        raise QualcodeError(
            f"{path}: not a qualcode review file", "import a file made by 'qualcode review export'"
        )
    try:
        version = int(meta.get("version") or 0)
    except (TypeError, ValueError):
        version = 0
    if version > FORMAT_VERSION:
        raise QualcodeError(
            f"{path}: made by a newer qualcode (review file version {version})",
            "upgrade qualcode to import it",
        )
    if meta.get("project_uid") != project.uid:
        raise QualcodeError(
            f"{path}: exported from another project ({meta.get('project') or 'unknown'}),"
            f" not from {project.path}",
            "import it into the project it came from, or export a review file from this one",
        )
    exported_for = str(meta.get("coder") or "")
    if exported_for and exported_for != coder:
        raise QualcodeError(
            f"{path}: exported for coder {exported_for}, not {coder}",
            f"import it with --coder {exported_for}, or export a file for {coder}",
        )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_decision(value: Any) -> str | None:
    """'accepted', 'rejected' or None (empty); ``ValueError`` for anything else."""
    word = _text(value).casefold()
    if not word or word in ("leeg", "empty", "?"):
        return None
    if word not in DECISION_WORDS:
        raise ValueError(word)
    return DECISION_WORDS[word]


def _parse_rows(
    path: Path, sheets: dict[str, list[tuple[Any, ...]]], project: Project
) -> tuple[list[_Decision], int]:
    """Check every row against the file's hidden facts and the project; (decisions, empty)."""
    from qualcode.export.tables import cell_text

    main = sheets[MAIN_SHEET]
    if not main:
        raise QualcodeError(f"{path}: the sheet '{MAIN_SHEET}' is empty")
    header = [_text(h) for h in main[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise QualcodeError(
            f"{path}: column '{missing[0]}' is missing from the sheet '{MAIN_SHEET}'",
            "do not rename or delete columns; export a new file if needed",
        )
    col = {name: header.index(name) for name in COLUMNS}
    hashes = {(_text(r[0]), _text(r[1])): _text(r[2]) for r in sheets[ROWS_SHEET][1:] if r}
    codes = project_codes(project)
    by_path = {c.path: c for c in codes}
    segments = {s.id: s for s in all_segments(project)}
    decisions: list[_Decision] = []
    seen: dict[tuple[int, int], _Decision] = {}
    empty = 0
    for number, values in enumerate(main[1:], start=2):
        cells = list(values) + [None] * (len(header) - len(values))

        def get(name: str, cells: list[Any] = cells) -> Any:
            return cells[col[name]]

        if all(_text(v) == "" for v in cells):
            continue  # a blank line, e.g. below the data
        where = f"{path}, row {number}"
        seg_text, code_text = _text(get("segment_id")), _text(get("code"))
        stored = hashes.get((seg_text, code_text))
        if stored is None:
            raise QualcodeError(
                f"{where}: segment_id {seg_text or '(empty)'} with code {code_text or '(empty)'}"
                " is not a row of this export",
                "do not change the columns segment_id and code; export a new file if needed",
            )
        segment = segments.get(int(seg_text)) if seg_text.isdigit() else None
        code = by_path.get(code_text)
        if segment is None or code is None:
            raise QualcodeError(
                f"{where}: segment {seg_text} or code {code_text} is no longer in the project",
                "export a new review file",
            )
        if text_hash(_text(get("tekst"))) != stored:
            raise QualcodeError(
                f"{where}: the text in 'tekst' was changed after the export ({segment.key})",
                "edits to the text are not saved: undo them (or export again) and import",
            )
        if text_hash(cell_text(segment.text)) != stored:
            raise QualcodeError(
                f"{where}: passage {segment.key} has changed in the project since the export",
                "export a new review file",
            )
        try:
            decision = parse_decision(get("besluit"))
        except ValueError:
            raise QualcodeError(
                f"{where}: besluit '{_text(get('besluit'))}' is not accepteren or afwijzen",
                "use accepteren/accept/ja/j/✓, afwijzen/reject/nee/n, or leave it empty",
            ) from None
        other = None
        if _text(get("andere_code")):
            try:
                other = find_code(project, _text(get("andere_code")), codes)
            except QualcodeError as exc:
                raise QualcodeError(f"{where}: andere_code: {exc.message}", exc.hint) from None
            if other.id == code.id:
                decision, other = "accepted", None
        memo = _text(get("memo"))
        if decision is None and other is None and not memo:
            empty += 1
            continue
        score = get("score")
        item = _Decision(
            number,
            segment,
            code,
            decision or ("rejected" if other else None),
            other,
            memo,
            float(score) if isinstance(score, int | float) else None,
            _text(get("uitleg")) or None,
        )
        earlier = seen.get((segment.id, code.id))
        if earlier and item.decision and earlier.decision and earlier.decision != item.decision:
            raise QualcodeError(
                f"{where}: another decision on {code.path} for {segment.key}"
                f" than row {earlier.row}",
                "keep one decision per passage and code",
            )
        seen[(segment.id, code.id)] = item
        decisions.append(item)
    return decisions, empty


def _apply(project: Project, decisions: list[_Decision], report: ImportReport) -> None:
    """Write the decisions (inside the caller's transaction) and count what changed."""
    for d in decisions:
        changed = False
        if d.decision is not None:
            change = decide(
                project,
                d.segment.id,
                d.code.id,
                report.coder,
                d.decision,
                source=SOURCE,
                score=d.score,
                explanation=d.explanation,
            )
            if change is not None:
                changed = True
                if d.decision == "accepted":
                    report.accepted += 1
                else:
                    report.rejected += 1
        if d.other is not None and add_code(
            project, d.segment, d.other, report.coder, source=SOURCE
        ):
            changed = True
            report.other_codes += 1
        if d.memo:
            _, created = add_memo(
                project, "segment", d.segment, report.coder, d.memo, skip_duplicate=True
            )
            if created is not None:
                changed = True
                report.memos += 1
        if not changed:
            report.unchanged += 1


def import_review(
    project: Project, path: str | Path, *, coder: str, dry_run: bool = False
) -> ImportReport:
    """Apply the decisions in a review file as ``coder``, in one transaction.

    Every row is checked first; nothing is written when one is wrong. When the import will
    change something, a backup of the project is made first (``report.backup``). Importing the
    same file again changes nothing. ``dry_run`` only counts.
    """
    coder = check_coder(coder)
    source = Path(path)
    sheets = _read_workbook(source)
    meta = {_text(r[0]): r[1] for r in sheets[META_SHEET] if r and len(r) > 1}
    _check_meta(source, meta, project, coder)
    decisions, empty = _parse_rows(source, sheets, project)

    def run() -> ImportReport:
        report = ImportReport(source, coder, rows=len(decisions) + empty, empty=empty)
        _apply(project, decisions, report)
        return report

    try:
        with project.transaction():
            trial = run()
            raise _DryRun
    except _DryRun:
        pass
    if dry_run or not trial.changes:
        return trial
    backup = project.backup("before-review-import")
    with project.transaction():
        report = run()
    report.backup = backup
    return report
