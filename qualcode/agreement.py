"""Agreement between coders: percent agreement, Cohen's kappa and Krippendorff's alpha per code.

A coder is

- a person who coded in the project: their ``accepted`` and ``manual`` rows say yes, a
  ``rejected`` row is their explicit no (an open machine suggestion is nobody's coding);
- the machine, ``qualcode``: its suggestions scored at least the threshold;
- a file in the reference format of :mod:`qualcode.evaluate` (``document,order,codes``), for
  coding done outside qualcode.

Units. A person "coded" the segments on which they made at least one decision (a rejection
too), a file coder every segment that is a row of the file, the machine every coded unit (it
scores them all). Only segments that every coder coded are compared; the others are counted as
dropped. With ``unit="document"`` the common segments are grouped per document, and a coder gave
a code to a document when they gave it to any of its common segments.

Per code the data is binary per unit: the code is given or not. Codes roll up (a unit coded
``impact/sociaal/eenzaamheid`` has ``impact/sociaal`` and ``impact`` too), as in
``qualcode evaluate``. Per code:

- percent agreement: the share of units on which all coders made the same decision;
- kappa: Cohen's kappa for two coders; with more, Cohen's kappa per pair and their mean
  (Light's kappa);
- alpha: Krippendorff's alpha for nominal data over all coders (the ``krippendorff`` package).

Kappa and alpha are undefined for a code that every coder gave to every unit, or to none: with no
variation, chance agreement is 1. Such a code gets ``None`` and the reason, never NaN. Codes no
coder used are listed but left out of the overall figures.

Overall: the mean of each figure over the used codes where it is defined, and the same figures
pooled over every code × unit decision of the used codes (for alpha the more informative: one
disagreement on a rarely used code swings its own alpha wildly).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.errors import QualcodeError
from qualcode.evaluate import cohen_kappa, load_reference, machine_codings
from qualcode.models import MACHINE_CODER
from qualcode.segments import all_segments, coded_units
from qualcode.store import Project

UNITS_OF_ANALYSIS = ("segment", "document")
NA = "n/a"
NO_CODE = "(no code)"


@dataclass(frozen=True)
class CoderCoding:
    """What one coder did: the segments they coded and the codes they gave (with ancestors)."""

    name: str
    source: str
    codes: Mapping[int, frozenset[str]]  # segment id → codes given; every coded segment a key

    @property
    def segments(self) -> frozenset[int]:
        return frozenset(self.codes)


@dataclass(frozen=True)
class Unit:
    """What is compared: one segment, or one document's segments that every coder coded."""

    key: str
    document: str
    speaker: str
    role: str | None
    text: str
    segments: tuple[int, ...]


@dataclass(frozen=True)
class CodeAgreement:
    code: str
    units: int
    given: dict[str, int]  # coder → units they gave this code
    agreement: float | None
    kappa: float | None  # Cohen's kappa (2 coders) or the mean of the pairs (Light's kappa)
    alpha: float | None
    pair_kappas: dict[tuple[str, str], float | None] = field(default_factory=dict)
    note: str = ""

    @property
    def used(self) -> bool:
        return any(self.given.values())


@dataclass(frozen=True)
class Overall:
    """A summary row: the mean over codes, or the figures over pooled code × unit decisions."""

    label: str
    agreement: float | None
    kappa: float | None
    alpha: float | None
    pair_kappas: dict[tuple[str, str], float | None]
    decisions: int | None = None
    given: dict[str, int] | None = None
    note: str = ""


@dataclass(frozen=True)
class Disagreement:
    unit: Unit
    codes: tuple[str, ...]  # the disputed codes, most specific only
    given: dict[str, tuple[str, ...]]  # coder → codes given (most specific only)


@dataclass(frozen=True)
class CoderSummary:
    name: str
    source: str
    coded: int  # segments this coder coded
    dropped: int  # of which not coded by every other coder


@dataclass
class AgreementReport:
    coders: list[CoderSummary]
    unit: str
    scope: str  # which codes were compared, in words
    common_segments: int
    units: int
    codes: list[CodeAgreement]
    mean: Overall
    pooled: Overall
    disagreements: list[Disagreement]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.coders]

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return _pairs(self.names)

    @property
    def unused(self) -> list[str]:
        return [c.code for c in self.codes if not c.used]

    def summary_lines(self) -> list[str]:
        """What was compared, in plain words (printed above the table)."""
        names = self.names
        who = " and ".join(names) if len(names) == 2 else ", ".join(names)
        by = "both" if len(names) == 2 else f"all {len(names)} coders"
        lines = [
            f"Agreement between {who}: {self.common_segments} segments coded by {by}"
            + (f", in {self.units} documents" if self.unit == "document" else "")
            + f" (per code: given to a {self.unit} or not).",
        ]
        for c in self.coders:
            lines.append(
                f"  {c.name} ({c.source}): {c.coded} segments coded, {c.dropped} not coded by "
                f"{'the other coder' if len(names) == 2 else 'every other coder'}, left out"
            )
        lines.append(f"Codes: {self.scope}.")
        return lines

    def note_lines(self) -> list[str]:
        """What the figures mean (printed below the table)."""
        lines = []
        if self.unused:
            lines.append(
                f"Not used by any coder, left out of the overall figures ({len(self.unused)}): "
                + ", ".join(self.unused)
            )
        kappa = (
            "Cohen's kappa"
            if len(self.coders) == 2
            else "mean of the pairwise Cohen's kappas (Light's kappa; per pair in the kappa "
            "columns)"
        )
        lines.append(
            f"agreement: share of {self.unit}s on which all coders agree; kappa: {kappa}; "
            "alpha: Krippendorff's alpha (nominal)."
        )
        lines.append(
            f"{self.mean.label}: the mean of each figure over the codes where it is defined. "
            f"{self.pooled.label}: every code × {self.unit} decision as one unit."
        )
        return lines


# --------------------------------------------------------------------------------------------
# The statistics on binary decisions (coders × units, 1 = code given)


def nominal_alpha(data: Sequence[Sequence[float]]) -> float | None:
    """Krippendorff's alpha for nominal data: one row per coder, one column per unit, NaN for
    a missing value. None when undefined: no unit with two values, or no variation at all."""
    import krippendorff
    import numpy as np

    matrix = np.asarray(data, dtype=float)
    pairable = matrix[:, (~np.isnan(matrix)).sum(axis=0) >= 2]
    values = np.unique(pairable[~np.isnan(pairable)])
    if len(values) < 2:
        return None
    result = krippendorff.alpha(
        reliability_data=matrix, value_domain=values, level_of_measurement="nominal"
    )
    return None if math.isnan(result) else float(result)


def _pairs(names: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]


def _pair_counts(a: Sequence[int], b: Sequence[int]) -> tuple[int, int, int, int]:
    """(both yes, only a, only b, both no)."""
    tp = sum(1 for x, y in zip(a, b, strict=True) if x and y)
    fp = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    fn = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    return tp, fp, fn, len(a) - tp - fp - fn


def _mean(values: Sequence[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return sum(defined) / len(defined) if defined else None


def _figures(
    rows: Mapping[str, Sequence[int]],
) -> tuple[float | None, float | None, float | None, dict[tuple[str, str], float | None]]:
    """Percent agreement, kappa (Cohen's, or Light's for 3+ coders), alpha and the kappa per
    pair, for binary decisions (coder → one 0/1 per unit)."""
    names = list(rows)
    columns = list(zip(*rows.values(), strict=True))
    if not columns:
        return None, None, None, {p: None for p in _pairs(names)}
    agreement = sum(1 for col in columns if len(set(col)) == 1) / len(columns)
    pair_kappas = {(a, b): cohen_kappa(*_pair_counts(rows[a], rows[b])) for a, b in _pairs(names)}
    alpha = nominal_alpha([rows[n] for n in names])
    return agreement, _mean(list(pair_kappas.values())), alpha, pair_kappas


def _code_note(
    code_rows: Mapping[str, Sequence[int]],
    unit: str,
    kappa: float | None,
    alpha: float | None,
    pair_kappas: Mapping[tuple[str, str], float | None],
) -> str:
    """Why a figure is missing for this code, in words ("" when nothing is)."""
    if not any(any(r) for r in code_rows.values()):
        return "not used by any coder: left out of the overall figures"
    if kappa is None and alpha is None:
        return f"every coder gave it to every {unit}: kappa and alpha undefined (no variation)"
    undefined = [p for p, k in pair_kappas.items() if k is None]
    if not undefined:
        return ""
    parts = []
    for a, b in undefined:
        everywhere = all(code_rows[a]) and all(code_rows[b])
        parts.append(f"{a}–{b} (both gave it to {'every' if everywhere else 'no'} {unit})")
    return "kappa undefined for " + ", ".join(parts) + "; kappa is the mean of the other pairs"


# --------------------------------------------------------------------------------------------
# Coders


def project_coders(project: Project) -> list[str]:
    """Everyone with codings in the project (``qualcode``: the machine's suggestions)."""
    return [r[0] for r in project.conn.execute("SELECT DISTINCT coder FROM codings ORDER BY 1")]


def person_coder(project: Project, name: str) -> CoderCoding:
    """A person's codings in the project: accepted and manual are yes, rejected an explicit no."""
    segments = [
        r[0]
        for r in project.conn.execute(
            "SELECT DISTINCT segment_id FROM codings WHERE coder = ?", (name,)
        )
    ]
    if not segments:
        known = ", ".join(project_coders(project)) or "none yet"
        raise QualcodeError(
            f"no codings by coder '{name}' in this project (coders: {known})",
            "check the spelling, or give coding done outside qualcode as --file NAME=FILE",
        )
    given = machine_codings(project, name, ("accepted", "manual"))
    codes = {s: frozenset(given.get(s, ())) for s in segments}
    return CoderCoding(name, "codings in the project", codes)


def _stored_threshold(project: Project) -> float | None:
    """The threshold the machine's stored suggestions were made with (the strictest of the
    runs whose suggestions are still there), None when ``suggest`` never ran."""
    rows = project.conn.execute(
        "SELECT params FROM runs WHERE command = 'suggest' AND id IN"
        " (SELECT DISTINCT run_id FROM codings WHERE coder = ? AND status = 'suggested')",
        (MACHINE_CODER,),
    ).fetchall()
    if not rows:  # suggest ran but stored nothing: its last run says at which threshold
        rows = project.conn.execute(
            "SELECT params FROM runs WHERE command = 'suggest' ORDER BY id DESC LIMIT 1"
        ).fetchall()
    found = [json.loads(r[0]).get("threshold") for r in rows]
    found = [float(t) for t in found if t is not None]
    return max(found) if found else None


def machine_coder(project: Project, threshold: float | None = None) -> CoderCoding:
    """The machine's suggestions scored at least ``threshold`` (default: the project's), on
    every coded unit."""
    stored = _stored_threshold(project)
    if stored is None:
        raise QualcodeError("this project has no suggestions yet", "run 'qualcode suggest' first")
    if threshold is None:
        threshold = max(stored, float(project.settings().get("threshold") or 0.0))
    elif threshold < stored - 1e-9:
        raise QualcodeError(
            f"the suggestions were stored at threshold {stored:.2f}: none below it are kept",
            f"use --threshold {stored:.2f} or higher, or first run "
            f"'qualcode suggest --threshold {threshold:.2f}'",
        )
    given = machine_codings(project, MACHINE_CODER, ("suggested",), min_score=threshold)
    codes = {s.id: frozenset(given.get(s.id, ())) for s in coded_units(project)}
    return CoderCoding(MACHINE_CODER, f"suggestions at threshold {threshold:.2f}", codes)


def file_coder(project: Project, name: str, path: str | Path) -> CoderCoding:
    """A coder's file in the reference format: ``document,order,codes`` (codes joined by ``;``);
    every row is a coded segment, an empty ``codes`` cell means no code."""
    known = [r[0] for r in project.conn.execute("SELECT path FROM codes")]
    given = load_reference(path, project, known, kind="coder")
    return CoderCoding(name, str(path), {s: frozenset(c) for s, c in given.items()})


def parse_coder_file(spec: str) -> tuple[str, Path]:
    """``NAME=FILE`` → (name, path)."""
    name, sep, file = spec.partition("=")
    if not sep or not name.strip() or not file.strip():
        raise QualcodeError(
            f"--file '{spec}' should be NAME=FILE", "for example --file A=coder_a.csv"
        )
    return name.strip(), Path(file.strip())


# --------------------------------------------------------------------------------------------
# Codes and units


def codes_at(project: Project, level: str | None = None) -> tuple[list[str], str]:
    """The codes to compare and a description. No level: every code (leaves and parents);
    ``level``: the sub-codes of that code (``top``: the top-level codes), each counting the
    codes below it."""
    rows = project.conn.execute("SELECT id, path, parent_id FROM codes ORDER BY ord, path")
    codes = [(r["id"], r["path"], r["parent_id"]) for r in rows]
    if not codes:
        raise QualcodeError("this project has no codes yet", "run 'qualcode suggest' first")
    if level is None:
        return [p for _, p, _ in codes], "all codes and their parents (a sub-code counts for them)"
    wanted = level.strip().strip("/")
    exact = [c for c in codes if c[1] == wanted]
    if not exact and wanted.casefold() == "top":
        top = [p for _, p, parent in codes if parent is None]
        return top, "the top-level codes (each counting the codes below it)"
    found = exact or [c for c in codes if c[1].endswith("/" + wanted)]
    if not found:
        raise QualcodeError(
            f"no code '{level}' in this project",
            "give a code with sub-codes, e.g. --level impact, or --level top",
        )
    if len(found) > 1:
        raise QualcodeError(
            f"--level '{level}' matches {len(found)} codes ({', '.join(c[1] for c in found)})",
            "give the full path",
        )
    code_id, path, _ = found[0]
    children = [p for _, p, parent in codes if parent == code_id]
    if not children:
        raise QualcodeError(
            f"code '{path}' has no sub-codes to compare",
            "give a code with sub-codes, e.g. --level impact, or --level top",
        )
    return children, f"the sub-codes of {path} (each counting the codes below it)"


def _check_unit(unit: str) -> None:
    if unit not in UNITS_OF_ANALYSIS:
        raise QualcodeError(f"unknown unit '{unit}'", f"use one of {', '.join(UNITS_OF_ANALYSIS)}")


def common_units(project: Project, segments: set[int], unit: str = "segment") -> list[Unit]:
    """The units to compare, in document and segment order."""
    _check_unit(unit)
    chosen = [s for s in all_segments(project) if s.id in segments]
    if unit == "segment":
        return [Unit(s.key, s.document, s.speaker, s.role, s.text, (s.id,)) for s in chosen]
    per_document: dict[str, list[int]] = {}
    for s in chosen:
        per_document.setdefault(s.document, []).append(s.id)
    return [
        Unit(doc, doc, "", None, f"{len(ids)} segments coded by every coder", tuple(ids))
        for doc, ids in per_document.items()
    ]


def _most_specific(paths: Sequence[str]) -> tuple[str, ...]:
    """Leave out a code when one of its sub-codes is in the list too."""
    return tuple(p for p in paths if not any(q.startswith(p + "/") for q in paths))


# --------------------------------------------------------------------------------------------
# Measuring


def measure(
    coders: Sequence[CoderCoding],
    codes: Sequence[str],
    units: Sequence[Unit],
    *,
    unit: str = "segment",
    scope: str = "",
) -> AgreementReport:
    """Agreement of ``coders`` on ``codes`` over ``units`` (segments every coder coded)."""
    names = [c.name for c in coders]
    wanted = set(codes)
    # coder → per unit the codes given (of the ones compared)
    given: dict[str, list[frozenset[str]]] = {
        c.name: [
            frozenset().union(*(c.codes.get(s, frozenset()) for s in u.segments)) & wanted
            for u in units
        ]
        for c in coders
    }
    results: list[CodeAgreement] = []
    pooled_rows: dict[str, list[int]] = {n: [] for n in names}
    for code in codes:
        rows = {n: [int(code in g) for g in given[n]] for n in names}
        figures = _figures(rows)
        counts = {n: sum(rows[n]) for n in names}
        note = _code_note(rows, unit, *figures[1:])
        if not any(counts.values()):
            figures = (None, None, None, {p: None for p in _pairs(names)})
        else:
            for n in names:
                pooled_rows[n].extend(rows[n])
        results.append(CodeAgreement(code, len(units), counts, *figures, note=note))
    used = [r for r in results if r.used]
    mean = Overall(
        f"mean over {len(used)} codes",
        _mean([r.agreement for r in used]),
        _mean([r.kappa for r in used]),
        _mean([r.alpha for r in used]),
        {p: _mean([r.pair_kappas[p] for r in used]) for p in _pairs(names)},
        note=_mean_note(used),
    )
    p_agreement, p_kappa, p_alpha, p_pairs = _figures(pooled_rows)
    pooled = Overall(
        f"pooled over {len(used)} codes × {len(units)} {unit}s",
        p_agreement,
        p_kappa,
        p_alpha,
        p_pairs,
        decisions=len(used) * len(units),
        given={n: sum(pooled_rows[n]) for n in names},
        note=f"{len(used) * len(units)} code × {unit} decisions",
    )
    segments = frozenset().union(*(u.segments for u in units))
    summaries = [
        CoderSummary(c.name, c.source, len(c.segments), len(c.segments - segments)) for c in coders
    ]
    return AgreementReport(
        summaries,
        unit,
        scope,
        len(segments),
        len(units),
        results,
        mean,
        pooled,
        _disagreements(names, codes, units, given),
    )


def _mean_note(used: Sequence[CodeAgreement]) -> str:
    missing = [r.code for r in used if r.kappa is None or r.alpha is None]
    if not missing:
        return ""
    return f"{len(missing)} code(s) without kappa or alpha left out: {', '.join(missing)}"


def _disagreements(
    names: Sequence[str],
    codes: Sequence[str],
    units: Sequence[Unit],
    given: Mapping[str, Sequence[frozenset[str]]],
) -> list[Disagreement]:
    out = []
    for i, u in enumerate(units):
        sets = [given[n][i] for n in names]
        disputed = frozenset().union(*sets) - frozenset.intersection(*sets)
        if not disputed:
            continue
        out.append(
            Disagreement(
                u,
                _most_specific([c for c in codes if c in disputed]),
                {n: _most_specific([c for c in codes if c in given[n][i]]) for n in names},
            )
        )
    return out


def agreement(
    project: Project,
    coders: Sequence[str] = (),
    files: Sequence[tuple[str, str | Path]] = (),
    *,
    level: str | None = None,
    unit: str = "segment",
    threshold: float | None = None,
) -> AgreementReport:
    """Compare ``coders`` (names in the project; ``qualcode`` is the machine) and ``files``
    ((name, file) pairs in the reference format) on the segments that all of them coded."""
    names = [*coders, *(name for name, _ in files)]
    if len(names) < 2:
        raise QualcodeError(
            "agreement needs at least two coders",
            "give them as --coder NAME (qualcode = the machine) or --file NAME=FILE",
        )
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise QualcodeError(f"coder '{twice[0]}' is given twice", "give every coder once")
    _check_unit(unit)
    codes, scope = codes_at(project, level)
    loaded = [
        machine_coder(project, threshold) if n == MACHINE_CODER else person_coder(project, n)
        for n in coders
    ] + [file_coder(project, name, path) for name, path in files]
    common = set.intersection(*(set(c.segments) for c in loaded))
    if not common:
        sizes = ", ".join(f"{c.name} {len(c.segments)}" for c in loaded)
        raise QualcodeError(
            f"the coders have no segment in common (segments coded: {sizes})",
            "agreement is measured on the segments that every coder coded",
        )
    return measure(loaded, codes, common_units(project, common, unit), unit=unit, scope=scope)


# --------------------------------------------------------------------------------------------
# Tables and the disagreement file

_FIXED = {"code", "segments", "documents", "agreement", "kappa", "alpha", "note"}


def _count_column(name: str) -> str:
    return f"coder {name}" if name in _FIXED or name.startswith("kappa ") else name


def _pair_column(pair: tuple[str, str]) -> str:
    return f"kappa {pair[0]}–{pair[1]}"


def table_columns(report: AgreementReport) -> list[str]:
    """Per code: units, how many each coder gave it to, the figures, kappa per pair (3+
    coders), and a note on what is undefined."""
    pairs = [_pair_column(p) for p in report.pairs] if len(report.coders) > 2 else []
    return [
        "code",
        f"{report.unit}s",
        *(_count_column(n) for n in report.names),
        "agreement",
        "kappa",
        "alpha",
        *pairs,
        "note",
    ]


def table_rows(
    report: AgreementReport,
    *,
    na: str | None = NA,
    used_only: bool = False,
    digits: int | None = None,
) -> list[dict[str, Any]]:
    """One row per code, then the mean and the pooled row. An undefined figure is ``na``."""

    def value(x: float | None) -> float | str | None:
        if x is None:
            return na
        return round(x, digits) if digits is not None else x

    def figures(item: CodeAgreement | Overall) -> dict[str, Any]:
        row = {
            "agreement": value(item.agreement),
            "kappa": value(item.kappa),
            "alpha": value(item.alpha),
            "note": item.note,
        }
        if len(report.coders) > 2:
            row |= {_pair_column(p): value(k) for p, k in item.pair_kappas.items()}
        return row

    units = f"{report.unit}s"
    rows = []
    for c in report.codes:
        if used_only and not c.used:
            continue
        counts = {_count_column(n): k for n, k in c.given.items()}
        rows.append({"code": c.code, units: c.units, **counts, **figures(c)})
    rows.append({"code": f"({report.mean.label})", **figures(report.mean)})
    pooled = report.pooled
    totals = {_count_column(n): k for n, k in (pooled.given or {}).items()}
    rows.append({"code": f"({pooled.label})", units: pooled.decisions, **totals, **figures(pooled)})
    return rows


def disagreement_columns(report: AgreementReport) -> list[str]:
    where = ["segment", "document", "speaker", "role"] if report.unit == "segment" else ["document"]
    return [*where, "disputed codes", *(f"codes by {n}" for n in report.names), "text"]


def disagreement_rows(report: AgreementReport) -> list[dict[str, Any]]:
    """One row per unit on which the coders differ, with what each coder gave."""
    rows = []
    for d in report.disagreements:
        u = d.unit
        row: dict[str, Any] = {"segment": u.key, "document": u.document}
        if report.unit == "segment":
            row |= {"speaker": u.speaker, "role": u.role or ""}
        row["disputed codes"] = "; ".join(d.codes)
        for name, codes in d.given.items():
            row[f"codes by {name}"] = "; ".join(codes) or NO_CODE
        row["text"] = u.text
        rows.append(row)
    return rows


def write_disagreements(report: AgreementReport, path: str | Path) -> Path:
    """The disagreements for the discussion meeting as .csv, or .xlsx with a second sheet
    holding the agreement per code."""
    from qualcode.export.tables import save_workbook, write_csv, write_xlsx

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise QualcodeError(
            f"{target}: the disagreement list is written as .csv or .xlsx",
            "for example -o disagreements.xlsx",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    columns, rows = disagreement_columns(report), disagreement_rows(report)
    if suffix == ".csv":
        write_csv(target, columns, rows)
        return target
    coded = [c for c in columns if c.startswith("codes by ") or c == "disputed codes"]
    book = write_xlsx(
        target,
        [
            ("Disagreements", columns, rows),
            ("Agreement per code", table_columns(report), table_rows(report, digits=3)),
        ],
        widths={"text": 80, "segment": 28, "document": 30, "code": 45, "note": 60}
        | dict.fromkeys(coded, 40),
        wrap=["text", "note", *coded],
    )
    save_workbook(book, target)
    return target


def to_frame(report: AgreementReport) -> Any:
    """The per-code table as a pandas DataFrame (for notebooks); undefined figures are NaN."""
    import pandas as pd

    return pd.DataFrame(table_rows(report, na=None), columns=table_columns(report))
