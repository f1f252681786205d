"""Counting tables for reports: code by code, code by document or speaker attribute.

``build_matrix`` counts coded passages (segments) and returns a :class:`Matrix`: a pandas
DataFrame plus the counting rule as text, so the same numbers can go into Excel, CSV or an
HTML report. ``write_matrix`` writes it (xlsx with a "telregel" sheet, or csv).

Three kinds:

- ``crosstab``: rows and columns are each a code level or an attribute (the doelgroepenmatrix
  is ``--rows impact --cols doelgroep``);
- ``cooccurrence``: codes by codes (the columns default to the rows);
- ``frequencies``: every code of a (sub)tree, parents included, by document (or attribute).

An axis is written as a code (its sub-codes form the axis; ``--depth`` goes further down), a
comma-separated list of codes (taken as they are), ``document``, ``doc:ATTRIBUTE`` (type,
place, group, ... from the metadata) or ``speaker:role`` / ``speaker:ATTRIBUTE``.

The helpers that select codings by status (``accepted`` = a person's decision, ``suggested`` =
the machine's open suggestions, ``any`` = both) and roll codes up to their parents live here
and are shared with the quote selection (``export/quotes.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.errors import QualcodeError
from qualcode.models import MACHINE_CODER, Segment
from qualcode.store import Project

if TYPE_CHECKING:
    import pandas as pd

STATUS_CHOICES = ("accepted", "suggested", "any")
_STATUS_FILTER = {
    "accepted": ("accepted", "manual"),
    "suggested": ("suggested",),
    "any": ("accepted", "manual", "suggested"),
}
# A person's accepted or manual coding is as sure as a coding gets.
PERSON_CERTAINTY = 1.0
KINDS = ("crosstab", "cooccurrence", "frequencies")
TOTAL = "Totaal"
MISSING = "(onbekend)"
MATRIX_SUFFIXES = (".xlsx", ".csv")


# -- codes of the project --------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectCode:
    """A code as the project holds it (synced from the codebook), in codebook order."""

    path: str
    key: str
    label: str
    definition: str
    parent: str | None
    order: int
    keywords: tuple[str, ...] = ()

    @property
    def depth(self) -> int:
        return self.path.count("/")


def project_codes(project: Project) -> list[ProjectCode]:
    rows = project.conn.execute(
        """
        SELECT c.path, c.code_key, c.label, c.definition, c.ord, c.spec, p.path AS parent
        FROM codes c LEFT JOIN codes p ON p.id = c.parent_id
        ORDER BY c.ord, c.path
        """
    ).fetchall()
    out = []
    for r in rows:
        spec = json.loads(r["spec"] or "{}")
        out.append(
            ProjectCode(
                r["path"],
                r["code_key"],
                r["label"],
                r["definition"] or "",
                r["parent"],
                r["ord"],
                tuple(str(k).lstrip("=") for k in spec.get("keywords", ())),
            )
        )
    if not out:
        raise QualcodeError(
            f"{project.path}: the project has no codes yet",
            "run 'qualcode suggest' (or 'qualcode run') with a codebook first",
        )
    return out


def find_code(project: Project, codes: Sequence[ProjectCode], ref: str) -> ProjectCode:
    """A code by path, id or unique part, resolved as every command resolves one
    (:func:`qualcode.coding.find_code`)."""
    from qualcode.coding import CodeRef
    from qualcode.coding import find_code as resolve

    hit = resolve(project, ref, [CodeRef(n, c.path, c.label) for n, c in enumerate(codes)])
    return next(c for c in codes if c.path == hit.path)


def subtree(codes: Sequence[ProjectCode], path: str, depth: int | None = None) -> list[ProjectCode]:
    """The code and its descendants (at most ``depth`` levels down), in codebook order."""
    base = path.count("/")
    return [
        c
        for c in codes
        if (c.path == path or c.path.startswith(path + "/"))
        and (depth is None or c.depth - base <= depth)
    ]


def roll_up(paths: Iterable[str]) -> set[str]:
    """The codes with all their ancestors: a passage coded with a sub-code counts for its
    parent."""
    out: set[str] = set()
    for path in paths:
        parts = path.split("/")
        out.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
    return out


# -- the passages and their codings ----------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """A coded unit (never an interviewer turn) with the metadata reports need."""

    segment: Segment
    doc_attributes: dict[str, str] = field(default_factory=dict)
    speaker_attributes: dict[str, str] = field(default_factory=dict)


def load_units(project: Project) -> list[Unit]:
    from qualcode.segments import coded_units

    docs = {
        r["id"]: json.loads(r["attributes"] or "{}")
        for r in project.conn.execute("SELECT id, attributes FROM documents")
    }
    speakers = {
        (r["document_id"], r["label"]): json.loads(r["attributes"] or "{}")
        for r in project.conn.execute("SELECT document_id, label, attributes FROM speakers")
    }
    return [
        Unit(s, docs.get(s.document_id, {}), speakers.get((s.document_id, s.speaker), {}))
        for s in coded_units(project)
    ]


@dataclass(frozen=True)
class Selected:
    """One selected coding of a passage: how sure it is and whose it is."""

    certainty: float
    status: str
    coder: str


def check_status(status: str) -> tuple[str, ...]:
    if status not in _STATUS_FILTER:
        raise QualcodeError(
            f"unknown status '{status}'", "use one of: " + ", ".join(STATUS_CHOICES)
        )
    return _STATUS_FILTER[status]


def selected_codings(
    project: Project, *, status: str = "accepted", coder: str | None = None
) -> dict[int, dict[str, Selected]]:
    """Segment id → {code path: the surest selected coding}, codes as coded (not rolled up).

    ``accepted`` takes accepted and manual codings (a person's decision), ``suggested`` the
    machine's suggestions nobody has decided on yet, ``any`` both. With ``coder`` only that
    person's decisions count (and suggestions that person has not decided on).
    """
    return selected_by_status(project, [status], coder=coder)[status]


def selected_by_status(
    project: Project, statuses: Sequence[str], *, coder: str | None = None
) -> dict[str, dict[int, dict[str, Selected]]]:
    """:func:`selected_codings` for each of ``statuses``, from one read of the codings: the
    report needs three selections, and each read took 0.1 s at 384k words, 0.3 s at a
    million."""
    from qualcode.segments import effective_codings

    wanted = {status: check_status(status) for status in statuses}
    if coder is not None and coder != MACHINE_CODER:
        known = {
            r[0]
            for r in project.conn.execute(
                "SELECT DISTINCT coder FROM codings WHERE coder != ?", (MACHINE_CODER,)
            )
        }
        if coder not in known and any(status != "suggested" for status in wanted):
            raise QualcodeError(
                f"no codings by coder '{coder}' in {project.path}",
                "coders in this project: " + (", ".join(sorted(known)) or "none yet"),
            )
    every = {s for found in wanted.values() for s in found}
    out: dict[str, dict[int, dict[str, Selected]]] = {status: {} for status in wanted}
    for seg_id, rows in effective_codings(project, coder=coder, statuses=every).items():
        for row in rows:
            person = row.coder != MACHINE_CODER
            certainty = PERSON_CERTAINTY if person else float(row.score or 0.0)
            for status, found in wanted.items():
                if row.status not in found:
                    continue
                current = out[status].setdefault(seg_id, {}).get(row.code)
                if current is None or certainty > current.certainty:
                    out[status][seg_id][row.code] = Selected(certainty, row.status, row.coder)
    return out


@dataclass(frozen=True)
class Loaded:
    """The coded units and the selected codings of one status, read once and shared by the
    tables and quotes of one report (each read took half a second at a million words, and the
    report read them four times)."""

    units: list[Unit]
    selected: dict[int, dict[str, Selected]]
    status: str
    coder: str | None = None

    @classmethod
    def of(cls, project: Project, status: str, coder: str | None = None) -> Loaded:
        selected = selected_codings(project, status=status, coder=coder)
        return cls(load_units(project), selected, status, coder)

    def fits(self, status: str, coder: str | None) -> bool:
        """Whether these are the codings asked for (else the caller reads its own)."""
        return (self.status, self.coder) == (status, coder)


def status_description(status: str, coder: str | None = None) -> str:
    """The status filter in the words of the report (Dutch, like the files)."""
    check_status(status)
    text = {
        "accepted": "geaccepteerde en handmatige coderingen (beslissingen van een onderzoeker)",
        "suggested": "open suggesties van qualcode (nog door niemand beoordeeld)",
        "any": "geaccepteerde en handmatige coderingen plus open suggesties van qualcode",
    }[status]
    return f"{text}, alleen van {coder}" if coder else text


def nothing_selected(
    project: Project, status: str, coder: str | None, what: str = ""
) -> QualcodeError:
    """The plain 'nothing to export' error, with the hint that fits the status."""
    who = f" by {coder}" if coder else ""
    scope = f" for {what}" if what else ""
    if status == "accepted":
        return QualcodeError(
            f"no accepted or manual codings{who}{scope} in {project.path} yet",
            "accept suggestions first, or add --status any to use the machine's suggestions too",
        )
    if status == "suggested":
        return QualcodeError(
            f"no open suggestions{who}{scope} in {project.path}",
            "run 'qualcode suggest', or use --status accepted for the codings people made",
        )
    return QualcodeError(
        f"no codings{who}{scope} in {project.path}",
        "run 'qualcode suggest' first, or check --codes and --coder",
    )


# -- axes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """Rows or columns of a matrix: codes (rolled up) or the values of an attribute."""

    spec: str
    kind: str  # "codes" | "document" | "doc" | "speaker"
    keys: tuple[str, ...]
    labels: dict[str, str]
    attribute: str | None = None
    depths: dict[str, int] = field(default_factory=dict)  # codes: depth below the axis top

    @property
    def is_codes(self) -> bool:
        return self.kind == "codes"

    @property
    def title(self) -> str:
        return {"codes": "code", "document": "document"}.get(
            self.kind, f"{self.kind}:{self.attribute}"
        )

    def members(self, unit: Unit, codes: set[str]) -> set[str]:
        """The keys of this axis a passage belongs to."""
        if self.kind == "codes":
            return codes.intersection(self.keys)
        if self.kind == "document":
            return {unit.segment.document}
        return {attribute_value(unit, self.kind, self.attribute or "")}


def attribute_value(unit: Unit, kind: str, attribute: str) -> str:
    if kind == "speaker" and attribute == "role":
        return (unit.segment.role or "").strip() or MISSING
    source = unit.doc_attributes if kind == "doc" else unit.speaker_attributes
    value = next((v for k, v in source.items() if k.casefold() == attribute.casefold()), None)
    return str(value).strip() if value not in (None, "") else MISSING


def _attribute_names(units: Sequence[Unit], kind: str) -> list[str]:
    names = {
        k for u in units for k in (u.doc_attributes if kind == "doc" else u.speaker_attributes)
    }
    return sorted(names | ({"role"} if kind == "speaker" else set()), key=str.casefold)


_DOCUMENT_WORDS = {"document", "documents", "doc", "docs", "documenten"}
_ATTRIBUTE_PREFIXES = {"doc": "doc", "document": "doc", "speaker": "speaker", "spreker": "speaker"}
# Speaker labels can be (pseudonymised) names: never an axis of a report table.
_NAME_ATTRIBUTES = {"label", "name", "naam", "speaker", "spreker"}


def parse_axis(
    project: Project,
    spec: str,
    codes: Sequence[ProjectCode],
    units: Sequence[Unit],
    *,
    depth: int | None = 1,
    tree: bool = False,
) -> Axis:
    """An axis from its written form (see the module docstring).

    For codes: one code with sub-codes stands for its descendants ``depth`` levels down (and
    shallower leaves); codes separated by commas stand for themselves; with ``tree`` each code
    and every descendant down to ``depth`` (all levels when ``depth`` is None), as the
    frequency table lists them.
    """
    text = spec.strip()
    if not text:
        raise QualcodeError("an empty axis was given", _AXIS_HINT)
    if text.casefold() in _DOCUMENT_WORDS:
        names = sorted({u.segment.document for u in units}, key=str.casefold)
        return Axis(text, "document", tuple(names), {n: n for n in names})
    prefix, sep, attribute = text.partition(":")
    if sep and prefix.strip().casefold() in _ATTRIBUTE_PREFIXES:
        return _attribute_axis(
            text, _ATTRIBUTE_PREFIXES[prefix.strip().casefold()], attribute.strip(), units
        )
    return _code_axis(project, text, codes, units, depth=depth, tree=tree)


_AXIS_HINT = (
    "use a code (impact, doelgroep, impact/sociaal), document, doc:ATTRIBUTE (doc:type) or "
    "speaker:role"
)


def _attribute_axis(spec: str, kind: str, attribute: str, units: Sequence[Unit]) -> Axis:
    known = _attribute_names(units, kind)
    if attribute.casefold() in _NAME_ATTRIBUTES and kind == "speaker":
        raise QualcodeError(
            f"'{spec}': speaker labels can be names and are never shown in a matrix",
            "use speaker:role",
        )
    match = next((k for k in known if k.casefold() == attribute.casefold()), None)
    if match is None:
        what = "document" if kind == "doc" else "speaker"
        raise QualcodeError(
            f"no {what} attribute '{attribute}' in this project",
            f"known {what} attributes: "
            + (", ".join(known) or "none (add a metadata file)")
            + f"; write it as {kind}:NAME",
        )
    values = {attribute_value(u, kind, match) for u in units}
    keys = sorted(values - {MISSING}, key=str.casefold) + ([MISSING] if MISSING in values else [])
    return Axis(spec, kind, tuple(keys), {k: k for k in keys}, attribute=match)


def _axis_hint(ref: str, units: Sequence[Unit]) -> str:
    for kind, what in (("doc", "document"), ("speaker", "speaker")):
        if ref.casefold() in {n.casefold() for n in _attribute_names(units, kind)}:
            return f"for the {what} attribute write {kind}:{ref}"
    return _AXIS_HINT


def _code_axis(
    project: Project,
    spec: str,
    codes: Sequence[ProjectCode],
    units: Sequence[Unit],
    *,
    depth: int | None,
    tree: bool,
) -> Axis:
    chosen: list[ProjectCode] = []
    depths: dict[str, int] = {}
    refs = [r for r in spec.split(",") if r.strip()]
    for ref in refs:
        try:
            top = find_code(project, codes, ref)
        except QualcodeError as exc:
            raise QualcodeError(exc.message, _axis_hint(ref.strip(), units)) from exc
        below = subtree(codes, top.path, depth)
        if tree:
            picked = below
        elif len(below) == 1 or len(refs) > 1:
            picked = [top]  # a leaf, or a code of a list, stands for itself
        else:
            level = depth if depth is not None else max(c.depth for c in below) - top.depth
            has_children = {c.parent for c in below}
            picked = [
                c
                for c in below
                if c.path != top.path
                and (c.depth - top.depth == level or c.path not in has_children)
            ]
        for code in picked:
            if code.path not in depths:
                chosen.append(code)
                depths[code.path] = code.depth - top.depth
    return Axis(
        spec,
        "codes",
        tuple(c.path for c in chosen),
        {c.path: c.label for c in chosen},
        depths=depths,
    )


# -- counting --------------------------------------------------------------------------------


@dataclass
class Matrix:
    """Counts of passages per (row, column), with a ``Totaal`` row and column, and the rule."""

    kind: str
    rows: Axis
    cols: Axis
    frame: pd.DataFrame  # index = row keys + TOTAL, columns = column keys + TOTAL
    rule: list[str]  # the counting rule, one sentence per item
    status: str
    coder: str | None
    passages: int  # passages with at least one selected coding

    @property
    def rule_text(self) -> str:
        return " ".join(self.rule)

    def labelled(self) -> pd.DataFrame:
        """The counts with labels instead of code paths (for display)."""
        frame = self.frame.copy()
        frame.index = [self.rows.labels.get(k, k) for k in frame.index]
        frame.columns = _unique([self.cols.labels.get(k, k) for k in frame.columns])
        return frame


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return out


def count_matrix(
    units: Sequence[Unit], coded: dict[int, set[str]], rows: Axis, cols: Axis
) -> dict[tuple[str, str], int]:
    """Passages per (row key, column key); TOTAL stands for 'any key of that axis'.

    Each passage counts once per cell, however many codings put it there.
    """
    counts: dict[tuple[str, str], int] = {}
    for unit in units:
        codes = coded.get(unit.segment.id)
        if not codes:
            continue
        in_rows = rows.members(unit, codes)
        in_cols = cols.members(unit, codes)
        if not in_rows or not in_cols:
            continue
        for r in [*in_rows, TOTAL]:
            for c in [*in_cols, TOTAL]:
                counts[(r, c)] = counts.get((r, c), 0) + 1
    return counts


def build_matrix(
    project: Project,
    *,
    rows: str | None = None,
    cols: str | None = None,
    kind: str = "crosstab",
    status: str = "accepted",
    coder: str | None = None,
    depth: int | None = None,
    loaded: Loaded | None = None,
) -> Matrix:
    """Count coded passages by the two axes; see the module docstring for the axis syntax.

    ``loaded``: the passages and the codings of ``status`` and ``coder``, when the caller has
    them already (the report counts several tables from one load)."""
    import pandas as pd

    if kind not in KINDS:
        raise QualcodeError(f"unknown matrix kind '{kind}'", "use one of: " + ", ".join(KINDS))
    check_status(status)
    if depth is not None and depth < 1:
        raise QualcodeError(
            f"--depth {depth}: must be 1 or more", "1 = the sub-codes, 2 = one level further"
        )
    codes = project_codes(project)
    shared = loaded if loaded is not None and loaded.fits(status, coder) else None
    units = shared.units if shared else load_units(project)
    row_axis, col_axis = _axes(project, kind, rows, cols, codes, units, depth)
    selected = shared.selected if shared else selected_codings(project, status=status, coder=coder)
    unit_ids = {u.segment.id for u in units}
    coded = {sid: roll_up(found) for sid, found in selected.items() if sid in unit_ids}
    if not coded:
        raise nothing_selected(project, status, coder)
    code_axes = [a for a in (row_axis, col_axis) if a.is_codes]
    wanted = {k for a in code_axes for k in a.keys}
    if not any(wanted & found for found in coded.values()):
        raise nothing_selected(project, status, coder, " or ".join(a.spec for a in code_axes))
    counts = count_matrix(units, coded, row_axis, col_axis)
    index = [*row_axis.keys, TOTAL]
    columns = [*col_axis.keys, TOTAL]
    frame = pd.DataFrame(
        [[counts.get((r, c), 0) for c in columns] for r in index],
        index=pd.Index(index, name=row_axis.title),
        columns=pd.Index(columns, name=col_axis.title),
        dtype="int64",
    )
    return Matrix(
        kind,
        row_axis,
        col_axis,
        frame,
        counting_rule(kind, row_axis, col_axis, status, coder),
        status,
        coder,
        len(coded),
    )


def _axes(
    project: Project,
    kind: str,
    rows: str | None,
    cols: str | None,
    codes: Sequence[ProjectCode],
    units: Sequence[Unit],
    depth: int | None,
) -> tuple[Axis, Axis]:
    if kind == "frequencies":
        tops = rows or ",".join(c.path for c in codes if c.parent is None)
        row_axis = parse_axis(project, tops, codes, units, depth=depth, tree=True)
        col_axis = parse_axis(project, cols or "document", codes, units, depth=depth or 1)
        if not row_axis.is_codes:
            raise QualcodeError(
                f"--rows {rows}: a frequency table has codes as rows", "give a code, e.g. impact"
            )
        return row_axis, col_axis
    if not rows:
        raise QualcodeError(
            f"a {kind} matrix needs --rows", "for example --rows impact --cols doelgroep"
        )
    if kind == "cooccurrence":
        cols = cols or rows
    elif not cols:
        raise QualcodeError("a crosstab needs --cols", _AXIS_HINT)
    row_axis = parse_axis(project, rows, codes, units, depth=depth or 1)
    col_axis = parse_axis(project, cols, codes, units, depth=depth or 1)
    if kind == "cooccurrence" and not (row_axis.is_codes and col_axis.is_codes):
        raise QualcodeError(
            "a co-occurrence matrix has codes on both axes",
            "use --kind crosstab for codes by an attribute",
        )
    if not (row_axis.is_codes or col_axis.is_codes):
        raise QualcodeError(
            f"--rows {rows} --cols {cols}: a matrix needs codes on at least one axis",
            "for example --rows impact --cols doc:type",
        )
    return row_axis, col_axis


# -- the counting rule -----------------------------------------------------------------------


def _condition(axis: Axis, side: str) -> str:
    if axis.is_codes:
        return f"ze zijn gecodeerd met de code van de {side}"
    if axis.kind == "document":
        return f"ze staan in het document van de {side}"
    if axis.kind == "speaker" and axis.attribute == "role":
        return f"ze zijn gezegd door een spreker met de rol van de {side}"
    owner = "document" if axis.kind == "doc" else "spreker"
    return f"hun {owner} heeft de waarde van de {side} voor '{axis.attribute}'"


def _total_sentence(axis: Axis, total: str, along: str) -> str:
    if axis.is_codes:
        return f"Een passage kan meer codes hebben, dus {total} is niet de som van de {along}."
    if axis.kind == "document":
        what = "document"
    elif axis.kind == "speaker" and axis.attribute == "role":
        what = "sprekersrol"
    else:
        what = f"waarde van '{axis.attribute}'"
    return f"Elke passage heeft precies één {what}, dus {total} is wel de som van de {along}."


def counting_rule(kind: str, rows: Axis, cols: Axis, status: str, coder: str | None) -> list[str]:
    """The counting rule in plain words (Dutch, like the rest of the file)."""
    if kind == "frequencies":
        rule = [
            "Elke cel telt de passages (segmenten) met de code van de rij waarvoor geldt: "
            f"{_condition(cols, 'kolom')}.",
            "Een bovenliggende code telt de passages van al zijn subcodes mee; een passage met "
            "twee subcodes telt voor de bovenliggende code één keer.",
        ]
    else:
        rule = [
            "Elke cel telt de passages (segmenten) waarvoor geldt: "
            f"{_condition(rows, 'rij')}, en {_condition(cols, 'kolom')}.",
            "Een passage die met een subcode is gecodeerd, telt mee voor de bovenliggende code.",
        ]
    rule.append(
        "Elke passage telt één keer per cel, hoeveel coderingen (of codeurs) haar daar ook "
        "plaatsen."
    )
    if kind == "cooccurrence":
        rule.append("Op de diagonaal staat het aantal passages met die code.")
    rule.append(f"Meegeteld: {status_description(status, coder)}; afgewezen suggesties nooit.")
    rule.append(
        "Vragen van de interviewer of gespreksleider en passages met alleen een aantekening, "
        "zoals '(stilte)', tellen niet mee."
    )
    rule.append(
        f"De kolom {TOTAL} telt de passages van de rij die bij minstens één kolom horen; de rij "
        f"{TOTAL} telt de passages van de kolom die bij minstens één rij horen."
    )
    rule.append(_total_sentence(cols, f"de kolom {TOTAL}", "cellen in de rij"))
    rule.append(_total_sentence(rows, f"de rij {TOTAL}", "cellen in de kolom"))
    return rule


# -- writing ---------------------------------------------------------------------------------


def output_path(path: str | Path, suffixes: Sequence[str]) -> Path:
    """Check the file type before any work is done; create the folder."""
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        raise QualcodeError(
            f"cannot write '{target.name}': unknown file type",
            "use a file name ending in " + " or ".join(suffixes),
        )
    if target.is_dir():
        raise QualcodeError(f"cannot write {target}: it is a folder", "give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise unwritable(target, exc) from exc
    return target


def unwritable(target: Path, exc: OSError) -> QualcodeError:
    return QualcodeError(
        f"cannot write {target} ({exc.strerror or exc})",
        "close the file if it is open in Excel or Word, or choose another folder",
    )


def matrix_rows(matrix: Matrix) -> tuple[list[str], list[dict[str, Any]]]:
    """Header and rows as they are written: labels first, the code path next to them."""
    frame = matrix.frame
    code_rows = matrix.rows.is_codes
    lead = ["label", "code"] if code_rows else [matrix.rows.title]
    count_names = [matrix.cols.labels.get(c, c) for c in frame.columns]
    header = _unique([*lead, *count_names])
    count_headers = header[len(lead) :]
    out: list[dict[str, Any]] = []
    for key, values in zip(frame.index, frame.itertuples(index=False), strict=True):
        if code_rows:
            first = {"label": matrix.rows.labels.get(key, key), "code": "" if key == TOTAL else key}
        else:
            first = {header[0]: key}
        out.append({**first, **{h: int(v) for h, v in zip(count_headers, values, strict=True)}})
    return header, out


def write_matrix(matrix: Matrix, path: str | Path) -> Path:
    """Write the matrix to ``.xlsx`` (with a 'telregel' sheet) or ``.csv`` (rule below)."""
    target = output_path(path, MATRIX_SUFFIXES)
    header, rows = matrix_rows(matrix)
    try:
        if target.suffix.lower() == ".csv":
            from qualcode.export.tables import write_csv

            note = [{}, {header[0]: "Telregel:"}, *({header[0]: s} for s in matrix.rule)]
            write_csv(target, header, [*rows, *note])
        else:
            _write_matrix_xlsx(matrix, header, rows, target)
    except OSError as exc:
        raise unwritable(target, exc) from exc
    return target


def _write_matrix_xlsx(
    matrix: Matrix, header: list[str], rows: list[dict[str, Any]], target: Path
) -> None:
    from openpyxl.formatting.rule import ColorScaleRule
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    from qualcode.export.tables import save_workbook, write_xlsx

    lead = 2 if matrix.rows.is_codes else 1
    settings = [
        f"Soort: {matrix.kind}; rijen: {matrix.rows.spec}; kolommen: {matrix.cols.spec}.",
        f"Passages met minstens één meegetelde codering: {matrix.passages}.",
    ]
    widths = {h: 14 for h in header[lead:]}
    widths.update({header[0]: 40 if matrix.rows.is_codes else 28, "code": 34})
    book = write_xlsx(
        target,
        [
            ("matrix", header, rows),
            ("telregel", ["telregel"], [{"telregel": s} for s in [*matrix.rule, *settings]]),
        ],
        widths={**widths, "telregel": 110},
        wrap=("telregel",),
    )
    sheet = book["matrix"]
    last_row = len(rows) + 1
    last_col = len(header)
    for cell in sheet[1]:
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.row_dimensions[1].height = 45
    bold = Font(bold=True)
    for cell in sheet[last_row]:
        cell.font = bold
    for row in sheet.iter_rows(min_row=2, max_row=last_row, min_col=last_col, max_col=last_col):
        row[0].font = bold
    if matrix.rows.is_codes and matrix.kind == "frequencies":
        for n, key in enumerate(matrix.frame.index[:-1], start=2):
            sheet.cell(n, 1).alignment = Alignment(indent=matrix.rows.depths.get(key, 0) * 2)
    # The totals stay outside the filter and the colour scale: sorting must not move them.
    first, end = get_column_letter(lead + 1), get_column_letter(last_col - 1)
    sheet.auto_filter.ref = f"A1:{get_column_letter(last_col)}{max(last_row - 1, 2)}"
    if last_row > 2 and last_col - 1 > lead:
        sheet.conditional_formatting.add(
            f"{first}2:{end}{last_row - 1}",
            ColorScaleRule(
                start_type="num",
                start_value=0,
                start_color="FFFFFF",
                end_type="max",
                end_color="5B9BD5",
            ),
        )
    sheet.cell(last_row + 2, 1, "Telregel (zie ook het blad 'telregel'):").font = bold
    for n, sentence in enumerate(matrix.rule, start=last_row + 3):
        sheet.cell(n, 1, sentence)
    save_workbook(book, target)


def export_matrix(
    project: Project,
    path: str | Path,
    *,
    rows: str | None = None,
    cols: str | None = None,
    kind: str = "crosstab",
    status: str = "accepted",
    coder: str | None = None,
    depth: int | None = None,
) -> tuple[Matrix, Path]:
    """Count and write in one call (what ``qualcode export matrix`` does)."""
    output_path(path, MATRIX_SUFFIXES)
    matrix = build_matrix(
        project, rows=rows, cols=cols, kind=kind, status=status, coder=coder, depth=depth
    )
    return matrix, write_matrix(matrix, path)
