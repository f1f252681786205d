"""The HTML report: one self-contained file that a report writer opens in a browser and prints.

``build_report`` gathers what the report shows, reusing the counting of ``export/matrix.py``
and the quote selection of ``export/quotes.py``:

- a study overview: the documents (type, setting, speakers, words) and the totals;
- a bar chart per code level (every code with sub-codes, down to ``CHART_DEPTH``): passages per
  code, a sub-code counting for its parent, as the frequency table counts them;
- the doelgroepenmatrix as a heat map (target groups by kind of impact), counting rule below;
- per code in codebook order: label, definition, passages, documents and the top quotes,
  attributed by role and setting, never by name;
- the new themes of the latest ``qualcode topics`` run, when there is one;
- how many suggestions nobody has reviewed yet, per code, and which statuses the figures use.

``render_report`` turns it into HTML with the Jinja2 template ``templates/report.html``
(autoescape on: every piece of transcript text is escaped). Charts are matplotlib figures
saved as inline SVG (text stays text, so the file is small and searchable); the file refers to
nothing outside itself, so it opens without internet. ``write_report`` does both and writes.

Which codings count: with ``status=None`` the report takes a person's accepted and manual
codings once there are any, and otherwise the machine's suggestions (``any``), and says so at
the top. The text of the report is Dutch, like the other files for report writers.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qualcode.errors import QualcodeError
from qualcode.export.matrix import (
    TOTAL,
    Loaded,
    Matrix,
    ProjectCode,
    Selected,
    Unit,
    build_matrix,
    check_status,
    count_matrix,
    load_units,
    nothing_selected,
    output_path,
    project_codes,
    roll_up,
    selected_by_status,
    status_description,
    unwritable,
)
from qualcode.export.quotes import (
    PER_CODE,
    Quote,
    attribution,
    gc_paused,
    mentions_name,
    name_words_of,
    possible_names,
    select_quotes,
    setting_of,
)
from qualcode.models import MACHINE_CODER
from qualcode.store import Project

if TYPE_CHECKING:
    from matplotlib.figure import Figure

REPORT_SUFFIXES = (".html", ".htm")
REPORT_NAME = "report.html"
# The doelgroepenmatrix: target groups (rows) by kind of impact (columns).
MATRIX_ROWS = "doelgroep"
MATRIX_COLS = "impact"
# A bar chart for every code with sub-codes at this depth or above (0 = the top codes), so the
# sample codebook gets impact, its four kinds, doelgroep and aanpak.
CHART_DEPTH = 1
# Colours: a person's decision, an open suggestion (lighter: not final), the heat map.
DECIDED_COLOUR = "#2b6cb0"
SUGGESTED_COLOUR = "#9cc3e6"
HEATMAP_COLOURS = "Blues"
CHART_WIDTH_IN = 7.0
BAR_HEIGHT_IN = 0.28
HEATMAP_CELL_IN = 1.1
FONT_SIZE = 9
LABEL_CHARS = 38  # longer code labels are wrapped onto a second line in the charts
_MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
    "oktober", "november", "december",
)  # fmt: skip


# -- what the report shows -------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentRow:
    """One document in the overview. ``name`` is the file name, or ``document N`` when the
    file name may contain a participant's name."""

    name: str
    kind: str
    setting: str
    speakers: int  # speakers other than the interviewer or moderator
    words: int
    passages: int  # passages that are data (coded units)
    coded: int  # of those, passages with a counted coding
    name_hidden: bool = False


@dataclass(frozen=True)
class Totals:
    documents: int
    speakers: int
    words: int
    passages: int
    coded: int


@dataclass(frozen=True)
class CodeSection:
    """One code as the report shows it; counts include the passages of its sub-codes."""

    path: str
    label: str
    definition: str
    depth: int
    passages: int
    documents: int
    decided: int  # of the passages, those with a person's accepted or manual coding
    open: int  # passages with an open suggestion for the code (counted or not)
    quotes: tuple[Quote, ...] = ()
    too_short: int = 0  # passages without a quotable stretch of 15-80 words

    @property
    def anchor(self) -> str:
        return anchor("code", self.path)


@dataclass(frozen=True)
class ChartBar:
    path: str
    label: str
    passages: int
    decided: int


@dataclass(frozen=True)
class Chart:
    """A bar chart of the sub-codes of one code, as inline SVG plus its numbers."""

    path: str
    title: str
    bars: tuple[ChartBar, ...]
    svg: str

    @property
    def anchor(self) -> str:
        return anchor("grafiek", self.path)


@dataclass(frozen=True)
class TopicPassage:
    text: str  # shortened
    attribution: str


@dataclass(frozen=True)
class TopicSection:
    number: int
    label: str
    size: int
    is_new: bool
    nearest: str  # the nearest code's label, or 'nieuw thema'
    similarity: float | None
    promoted: str | None  # the code it was promoted to
    words: tuple[str, ...]
    passages: tuple[TopicPassage, ...]


@dataclass
class Report:
    """Everything the HTML shows, as plain data (a notebook can use it without the HTML)."""

    title: str
    created: str
    codebook: str
    status: str
    status_auto: bool  # chosen by the default rule, not by --status
    status_text: str
    decisions: int  # a person's accepted and manual codings
    open_suggestions: int
    open_passages: int
    totals: Totals
    documents: list[DocumentRow]
    codes: list[CodeSection]
    charts: list[Chart] = field(default_factory=list)
    matrix: Matrix | None = None
    matrix_svg: str = ""
    matrix_note: str = ""
    topics: list[TopicSection] = field(default_factory=list)
    topics_note: str = ""
    counting_rule: list[str] = field(default_factory=list)
    quote_note: str = ""
    notes: list[str] = field(default_factory=list)  # why a part of the report is empty

    @property
    def quotes(self) -> list[Quote]:
        return [q for c in self.codes for q in c.quotes]

    @property
    def open_by_code(self) -> list[CodeSection]:
        return [c for c in self.codes if c.open]


def anchor(prefix: str, path: str) -> str:
    """An HTML id for a code: ``code-impact-sociaal-eenzaamheid``."""
    return prefix + "-" + re.sub(r"[^a-z0-9_]+", "-", path.casefold()).strip("-")


# -- which codings count ---------------------------------------------------------------------


def person_decisions(project: Project) -> int:
    """Accepted and manual codings made by people (not the machine)."""
    row = project.conn.execute(
        "SELECT count(*) FROM codings WHERE coder != ? AND status IN ('accepted', 'manual')",
        (MACHINE_CODER,),
    ).fetchone()
    return int(row[0])


def default_status(project: Project) -> str:
    """``accepted`` once a person has accepted or coded anything; before that ``any``, so a
    report straight after ``qualcode run`` shows the suggestions (and says so)."""
    return "accepted" if person_decisions(project) else "any"


def status_notice(report: Report) -> tuple[str, str]:
    """(kind, text) of the notice at the top: 'warning' while the figures rest on
    suggestions nobody has reviewed, else 'info'."""
    verb = "is" if report.open_suggestions == 1 else "zijn"
    open_part = (
        f"{_count_words(report.open_suggestions, 'suggestie', 'suggesties')} bij "
        f"{_count_words(report.open_passages, 'passage', 'passages')} {verb} nog door niemand "
        "beoordeeld"
    )
    if report.status_auto and report.status == "any":
        return (
            "warning",
            "Nog niemand heeft de suggesties van qualcode beoordeeld. Alle aantallen, grafieken "
            "en citaten in dit rapport gaan daarom uit van de suggesties: voorlopige, "
            "automatisch gemaakte coderingen, nog geen bevindingen. Beoordeel de suggesties "
            "(qualcode review export / import) en maak het rapport opnieuw; dan telt alleen wat "
            "een onderzoeker heeft geaccepteerd of zelf gecodeerd.",
        )
    if report.status == "accepted":
        counts = "telt" if report.open_suggestions == 1 else "tellen"
        rest = f"; {open_part} en {counts} niet mee" if report.open_suggestions else ""
        return ("info", f"De cijfers gaan uit van {report.status_text}{rest}.")
    return (
        "warning",
        f"De cijfers gaan uit van {report.status_text}: ze bevatten suggesties die nog niemand "
        f"heeft beoordeeld ({open_part}).",
    )


def counting_rule(status: str) -> list[str]:
    """How the numbers per code are counted, in the words of the matrix rule (Dutch)."""
    return [
        "Elk aantal per code telt passages (segmenten) met de code of een van haar subcodes; "
        "een passage met twee subcodes telt voor de bovenliggende code één keer.",
        "Elke passage telt één keer per code, hoeveel coderingen (of codeurs) haar daar ook "
        "plaatsen.",
        f"Meegeteld: {status_description(status)}; afgewezen suggesties nooit.",
        "Vragen van de interviewer of gespreksleider en passages met alleen een aantekening, "
        "zoals '(stilte)', tellen niet mee.",
        "Het aantal documenten van een code is het aantal documenten met minstens één zo'n "
        "passage.",
    ]


def _nl(number: int) -> str:
    """12345 → '12.345' (Dutch thousands separator)."""
    return f"{number:,}".replace(",", ".")


# -- the study overview ----------------------------------------------------------------------


def _attribute(attributes: dict[str, Any], *names: str) -> str:
    for key, value in attributes.items():
        if key.casefold() in names and value is not None and str(value).strip():
            return str(value).strip()
    return ""


def _speakers_per_document(project: Project) -> dict[int, int]:
    """Speakers with at least one turn, not counting the interviewer or moderator."""
    rows = project.conn.execute(
        "SELECT t.document_id, count(DISTINCT t.speaker_id) FROM turns t"
        " JOIN speakers s ON s.id = t.speaker_id WHERE s.is_interviewer = 0"
        " GROUP BY t.document_id"
    )
    return {r[0]: r[1] for r in rows}


def document_rows(
    project: Project,
    units: Sequence[Unit],
    coded: dict[str, int],
    name_words: set[str],
) -> list[DocumentRow]:
    """The overview table. A file name with a speaker's name as one of its words
    (``interview_marieke.docx``) or a pseudonym tag is not shown, nor a setting with one.
    Whole words only: a name inside a word ('Van Wijk' in 'wijkteam') is a false alarm more
    often than not, and would hide a harmless file name."""
    from qualcode.documents import list_documents

    speakers = _speakers_per_document(project)
    passages: dict[str, int] = {}
    for unit in units:
        passages[unit.segment.document] = passages.get(unit.segment.document, 0) + 1
    rows = []
    for n, doc in enumerate(list_documents(project), start=1):
        hidden = mentions_name(Path(doc.name).stem, name_words)
        kind = _attribute(doc.attributes, "type", "soort")
        where = setting_of(doc.attributes)
        rows.append(
            DocumentRow(
                name=f"document {n}" if hidden else doc.name,
                kind="" if mentions_name(kind, name_words) else kind,
                setting="" if mentions_name(where, name_words) else where,
                speakers=speakers.get(doc.id, 0),
                words=doc.words,
                passages=passages.get(doc.name, 0),
                coded=coded.get(doc.name, 0),
                name_hidden=hidden,
            )
        )
    return rows


# -- counting (the rule of export/matrix.py) -------------------------------------------------


def _per_code(
    units: Sequence[Unit], selected: dict[int, dict[str, Selected]], frequencies: Matrix
) -> dict[str, int]:
    """Passages per code (sub-codes rolled up) for a selection of codings, counted by the
    matrix code along the axes of the frequency table."""
    ids = {u.segment.id for u in units}
    coded = {sid: roll_up(found) for sid, found in selected.items() if sid in ids}
    counts = count_matrix(units, coded, frequencies.rows, frequencies.cols)
    return {key: counts.get((key, TOTAL), 0) for key in frequencies.rows.keys}


@dataclass
class _Counts:
    passages: dict[str, int]
    documents: dict[str, int]
    decided: dict[str, int]
    open: dict[str, int]
    per_document: dict[str, int]
    coded: int


def _count(
    project: Project,
    loaded: Loaded,
    open_selected: dict[int, dict[str, Selected]],
    accepted: dict[int, dict[str, Selected]],
) -> _Counts:
    """Passages and documents per code with the frequency table of ``export/matrix.py``; the
    passages with a person's decision (``accepted``, read when the status is ``any``) and with
    an open suggestion by its counting rule."""
    units, status = loaded.units, loaded.status
    frequencies = build_matrix(project, kind="frequencies", status=status, loaded=loaded)
    frame = frequencies.frame
    documents = [c for c in frame.columns if c != TOTAL]
    codes = list(frequencies.rows.keys)
    passages = {c: int(frame.loc[c, TOTAL]) for c in codes}
    if status == "any":
        decided = _per_code(units, accepted, frequencies)
    elif status == "accepted":
        decided = passages
    else:
        decided = dict.fromkeys(codes, 0)
    return _Counts(
        passages=passages,
        documents={c: int((frame.loc[c, documents] > 0).sum()) for c in codes},
        decided=decided,
        open=_per_code(units, open_selected, frequencies),
        per_document={d: int(frame.loc[TOTAL, d]) for d in documents},
        coded=frequencies.passages,
    )


# -- charts (matplotlib, inline SVG) ---------------------------------------------------------

_SVG_START_RE = re.compile(r"<svg\b")
_SVG_ID_RE = re.compile(r'\sid="([^"]+)"')


def figure_svg(figure: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element to put inline in HTML.

    Without the XML prologue and metadata; ids that nothing refers to (``patch_3``) are
    dropped, so several charts in one page do not repeat them, and ``salt`` makes the ids
    that are referred to (clip paths, markers) unique per chart and stable between runs.
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        figure.savefig(
            buffer,
            format="svg",
            metadata={"Date": None, "Creator": None, "Format": None, "Type": None},
        )
    text = buffer.getvalue()
    match = _SVG_START_RE.search(text)
    svg = text[match.start() :] if match else text
    used = set(re.findall(r"#([\w.-]+)", svg))
    return _SVG_ID_RE.sub(lambda m: m.group(0) if m.group(1) in used else "", svg).strip()


def _text_width_in(labels: Sequence[str], size: float = FONT_SIZE) -> float:
    """Width in inches of the widest line of the labels, from the font's metrics.

    The margins are measured beforehand instead of with ``bbox_inches="tight"``, which draws
    every figure twice (half the time of the report's charts).
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    prop = FontProperties(family="sans-serif", size=size)
    measure = TextToPath().get_text_width_height_descent
    lines = [line for label in labels for line in label.splitlines()]
    # the SVG is shown in the reader's sans-serif font, which may run a little wider
    return 1.1 * max((measure(line, prop, ismath=False)[0] for line in lines), default=0) / 72


def _new_figure(width: float, height: float, margins: tuple[float, float, float, float]) -> Any:
    """A figure of ``width`` x ``height`` inches whose axes leave ``margins`` (left, right,
    top, bottom, in inches) for labels."""
    # A Figure without pyplot: no GUI backend, no global state, closed by garbage collection.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    left, right, top, bottom = margins
    figure.subplots_adjust(
        left=left / width, right=1 - right / width, top=1 - top / height, bottom=bottom / height
    )
    return figure


def _wrap(label: str, width: int = LABEL_CHARS) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(label, width, max_lines=2, placeholder=" …")) or label


def _plain_text(texts: Sequence[Any]) -> None:
    # Code labels are text, not mathtext: a '$' in a label must not start a formula.
    for text in texts:
        text.set_parse_math(False)


def bar_chart(bars: Sequence[ChartBar], status: str, salt: str) -> str:
    """Horizontal bars, codebook order from the top. With status ``any`` each bar shows which
    part rests on a person's decision and which only on an open suggestion. The title is the
    HTML caption, not part of the picture."""
    import matplotlib

    labels = [_wrap(b.label) for b in bars]
    legend = status == "any"
    margins = (_text_width_in(labels) + 0.15, 0.1, 0.35 if legend else 0.1, 0.5)
    height = margins[2] + margins[3] + BAR_HEIGHT_IN * max(len(bars), 2)
    with matplotlib.rc_context({"font.size": FONT_SIZE, "font.family": "sans-serif"}):
        figure = _new_figure(CHART_WIDTH_IN, height, margins)
        ax = figure.add_subplot()
        positions = list(range(len(bars)))
        totals = [b.passages for b in bars]
        if legend:
            decided = [b.decided for b in bars]
            ax.barh(
                positions, decided, color=DECIDED_COLOUR, label="beoordeeld door een onderzoeker"
            )
            ax.barh(
                positions,
                [t - d for t, d in zip(totals, decided, strict=True)],
                left=decided,
                color=SUGGESTED_COLOUR,
                label="alleen een suggestie van qualcode",
            )
            # above the bars, right-aligned: the whole width of the figure is free there
            figure.legend(
                loc="upper right", bbox_to_anchor=(1, 1), ncols=2, frameon=False, fontsize=8
            )
        else:
            colour = SUGGESTED_COLOUR if status == "suggested" else DECIDED_COLOUR
            ax.barh(positions, totals, color=colour)
        ax.set_yticks(positions, labels)
        _plain_text(ax.get_yticklabels())
        ax.set_ylim(len(bars) - 0.5, -0.5)  # the first code on top
        top = max(totals, default=0)
        ax.set_xlim(0, max(top * 1.12, 1))
        for y, total in zip(positions, totals, strict=True):
            ax.text(total + top * 0.01, y, str(total), va="center", fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("passages")
        ax.spines[["top", "right"]].set_visible(False)
        return figure_svg(figure, salt)


def heatmap(matrix: Matrix, salt: str) -> str:
    """The counts of a crosstab (without totals) as coloured cells with their number."""
    import matplotlib

    frame = matrix.labelled().iloc[:-1, :-1]
    values = frame.to_numpy()
    rows, cols = values.shape
    row_labels = [_wrap(str(r)) for r in frame.index]
    col_labels = [_wrap(str(c), 16) for c in frame.columns]
    lines = max((label.count("\n") + 1 for label in col_labels), default=1)
    margins = (_text_width_in(row_labels) + 0.1, 0.1, 0.1 + 0.18 * lines, 0.1)
    width = min(CHART_WIDTH_IN, margins[0] + margins[1] + HEATMAP_CELL_IN * cols)
    height = margins[2] + margins[3] + 0.3 * rows
    with matplotlib.rc_context({"font.size": FONT_SIZE, "font.family": "sans-serif"}):
        figure = _new_figure(width, height, margins)
        ax = figure.add_subplot()
        # Cells as vector shapes (imshow and a colour bar would embed PNG images): crisp in
        # print, and the number in each cell says what the colour means.
        high = int(values.max()) if values.size else 0
        ax.pcolormesh(
            values, cmap=HEATMAP_COLOURS, vmin=0, vmax=max(high, 1), edgecolors="white", linewidth=1
        )
        ax.set_xticks([c + 0.5 for c in range(cols)], col_labels)
        ax.set_yticks([r + 0.5 for r in range(rows)], row_labels)
        _plain_text([*ax.get_xticklabels(), *ax.get_yticklabels()])
        ax.invert_yaxis()
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        for r in range(rows):
            for c in range(cols):
                value = int(values[r, c])
                ax.text(
                    c + 0.5,
                    r + 0.5,
                    str(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if high and value > 0.6 * high else "#1a202c",
                )
        ax.spines[:].set_visible(False)
        return figure_svg(figure, salt)


def charts(
    codes: Sequence[ProjectCode], counts: _Counts, status: str, depth: int = CHART_DEPTH
) -> list[Chart]:
    """A chart of the sub-codes of every code with sub-codes at ``depth`` or above."""
    out = []
    for parent in codes:
        children = [c for c in codes if c.parent == parent.path]
        if not children or parent.depth > depth:
            continue
        bars = tuple(
            ChartBar(c.path, c.label, counts.passages.get(c.path, 0), counts.decided.get(c.path, 0))
            for c in children
        )
        title = f"{parent.label}: passages per subcode"
        out.append(Chart(parent.path, title, bars, bar_chart(bars, status, parent.path)))
    return out


# -- new themes (topics) ---------------------------------------------------------------------


def _latest_topics(project: Project) -> Any | None:
    """The latest finished topics run, or None when ``qualcode topics`` never ran."""
    from qualcode.topics import stored_topics
    from qualcode.topics.storage import COMMAND

    found = project.conn.execute(
        "SELECT 1 FROM runs WHERE command = ? AND finished_at IS NOT NULL LIMIT 1", (COMMAND,)
    ).fetchone()
    return stored_topics(project) if found else None


def topic_sections(
    project: Project,
    labels: dict[str, str],
    doc_attributes: dict[str, dict[str, Any]],
    names: Sequence[str],
) -> tuple[list[TopicSection], str]:
    """The topics of the latest run with their representative passages, shortened and
    attributed by role, never by name; and a sentence about the run."""
    result = _latest_topics(project)
    if result is None or not result.topics:
        return [], ""
    sections = []
    for topic in result.topics:
        passages = tuple(
            TopicPassage(
                p.snippet,
                attribution(
                    role=p.role,
                    label=p.speaker,
                    document=p.document,
                    doc_attributes=doc_attributes.get(p.document, {}),
                    names=names,
                ),
            )
            for p in topic.representatives
        )
        nearest = labels.get(topic.nearest_code or "", topic.nearest_code or "")
        sections.append(
            TopicSection(
                number=topic.number,
                label=topic.label,
                size=topic.size,
                is_new=topic.is_new,
                nearest=nearest,
                similarity=topic.similarity,
                promoted=labels.get(topic.promoted_code or "", topic.promoted_code),
                words=tuple(_word(w) for w in topic.words[:8]),
                passages=passages,
            )
        )
    unit = "zinnen" if result.unit == "sentence" else "passages"
    note = (
        f"Gevonden met qualcode topics op {_date(result.finished_at)}: {_nl(result.passages)} "
        f"{unit} van deelnemers (los van de codering), {len(result.topics)} thema's; "
        f"{_nl(result.outliers)} {unit} passen bij geen enkel thema."
    )
    return sections, note


def _word(word: Any) -> str:
    # a TopicWord (word, weight, share), or a (word, weight) pair from an older run
    return str(getattr(word, "word", None) or word[0])


def _date(stamp: str | None) -> str:
    """'2024-05-01T10:00:00+00:00' → '1 mei 2024' (the date of a stored run)."""
    if not stamp:
        return "een onbekende datum"
    try:
        moment = datetime.fromisoformat(stamp).astimezone()
    except ValueError:
        return stamp
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


# -- building the report ---------------------------------------------------------------------


@gc_paused()
def build_report(
    project: Project, *, status: str | None = None, per_code: int = PER_CODE
) -> Report:
    """Gather everything the report shows; ``status=None`` applies :func:`default_status`."""
    from qualcode.documents import list_documents

    if status is not None:
        check_status(status)
    if per_code < 1:
        raise QualcodeError(f"--per-code {per_code}: must be 1 or more")
    documents = list_documents(project)
    if not documents:
        raise QualcodeError(
            f"{project.path}: the project has no documents yet",
            "read transcripts with 'qualcode ingest' or make the project with 'qualcode run'",
        )
    codes = project_codes(project)
    chosen = status or default_status(project)
    units = load_units(project)
    unit_ids = {u.segment.id for u in units}
    # the codings read once: counted by the frequency table, the matrix and the quotes, and
    # the open suggestions and (under 'any') the decisions among them
    selections = selected_by_status(
        project,
        list(dict.fromkeys([chosen, "suggested", *(["accepted"] if chosen == "any" else [])])),
    )
    open_selected = {
        sid: found for sid, found in selections["suggested"].items() if sid in unit_ids
    }
    loaded = Loaded(units, selections[chosen], chosen)
    nothing = not any(sid in unit_ids for sid in loaded.selected)
    if nothing and status is not None:
        raise nothing_selected(project, chosen, None)
    names = possible_names(project)
    name_words = name_words_of(names)
    labels = {c.path: c.label for c in codes}
    report = Report(
        title=f"Codeerrapport {project.path.resolve().name}",
        created=_now_text(),
        codebook=Path(str(project.settings().get("codebook") or "")).name,
        status=chosen,
        status_auto=status is None,
        status_text=status_description(chosen),
        decisions=person_decisions(project),
        open_suggestions=sum(len(found) for found in open_selected.values()),
        open_passages=len(open_selected),
        totals=Totals(0, 0, 0, 0, 0),
        documents=[],
        codes=[],
    )
    if nothing:
        report.notes.append(
            "Er zijn nog geen coderingen: laat qualcode eerst codes voorstellen (qualcode "
            "suggest) of codeer zelf; maak het rapport daarna opnieuw."
        )
        counts = _Counts({}, {}, {}, {}, {}, 0)
        quotes: dict[str, Any] = {}
    else:
        counts = _count(project, loaded, open_selected, selections.get("accepted", {}))
        report.counting_rule = counting_rule(chosen)
        report.charts = charts(codes, counts, chosen)
        _add_matrix(report, project, codes, counts, loaded)
        quotes = _quotes(report, project, per_code, loaded)
    report.codes = [
        CodeSection(
            path=c.path,
            label=c.label,
            definition=c.definition,
            depth=c.depth,
            passages=counts.passages.get(c.path, 0),
            documents=counts.documents.get(c.path, 0),
            decided=counts.decided.get(c.path, 0),
            open=counts.open.get(c.path, 0),
            quotes=quotes[c.path].quotes if c.path in quotes else (),
            too_short=quotes[c.path].too_short if c.path in quotes else 0,
        )
        for c in codes
    ]
    report.documents = document_rows(project, units, counts.per_document, name_words)
    report.totals = Totals(
        documents=len(report.documents),
        speakers=sum(d.speakers for d in report.documents),
        words=sum(d.words for d in report.documents),
        passages=len(units),
        coded=counts.coded,
    )
    doc_attributes = {d.name: d.attributes for d in documents}
    report.topics, report.topics_note = topic_sections(project, labels, doc_attributes, names)
    return report


def _now_text() -> str:
    moment = datetime.now().astimezone()
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}, {moment:%H:%M}"


def _add_matrix(
    report: Report,
    project: Project,
    codes: Sequence[ProjectCode],
    counts: _Counts,
    loaded: Loaded,
) -> None:
    tops = {c.path for c in codes if c.parent is None}
    missing = [p for p in (MATRIX_ROWS, MATRIX_COLS) if p not in tops]
    if missing:
        report.matrix_note = (
            "Geen doelgroepenmatrix: het codeboek heeft geen hoofdcode "
            + " of ".join(f"'{p}'" for p in missing)
            + "."
        )
        return
    if not (counts.passages.get(MATRIX_ROWS) and counts.passages.get(MATRIX_COLS)):
        report.matrix_note = (
            "Geen doelgroepenmatrix: er zijn nog geen passages met een doelgroep en een impact."
        )
        return
    report.matrix = build_matrix(
        project, rows=MATRIX_ROWS, cols=MATRIX_COLS, status=loaded.status, loaded=loaded
    )
    report.matrix_svg = heatmap(report.matrix, "doelgroepenmatrix")


def _quotes(report: Report, project: Project, per_code: int, loaded: Loaded) -> dict[str, Any]:
    """Code path → its ``CodeQuotes`` (sub-codes included); the method note goes into the
    report."""
    try:
        selection = select_quotes(project, per_code=per_code, status=loaded.status, loaded=loaded)
    except QualcodeError:
        # Codings exist (checked before), so the only reason left is that no coded passage
        # has a quotable stretch of 15-80 words: the report stands without quotes.
        report.notes.append(
            "Geen citaten: geen enkele gecodeerde passage heeft een stuk van 15 tot 80 woorden."
        )
        return {}
    report.quote_note = selection.method_note()
    return {c.code: c for c in selection.codes}


# -- HTML ------------------------------------------------------------------------------------


def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("qualcode", "templates"),
        autoescape=True,  # transcript text, labels and file names are all escaped
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["nl"] = _nl
    env.filters["count"] = _count_words
    env.filters["decimal"] = lambda value: f"{value:.2f}".replace(".", ",")
    return env


def _count_words(number: int, one: str, many: str) -> str:
    """'1 passage', '12 passages', '1.234 passages'."""
    return f"{_nl(number)} {one if number == 1 else many}"


def _toc_codes(codes: Sequence[CodeSection]) -> list[CodeSection]:
    """The codes listed in the table of contents: those with sub-codes, down to the depth
    that gets a chart (impact, its four kinds, doelgroep, aanpak)."""
    parents = {c.path.rpartition("/")[0] for c in codes}
    return [c for c in codes if c.path in parents and c.depth <= CHART_DEPTH]


def render_report(report: Report) -> str:
    """The report as one HTML page; it refers to nothing outside itself."""
    from markupsafe import Markup

    from qualcode import __version__

    kind, notice = status_notice(report)
    matrix_rows: list[dict[str, Any]] = []
    if report.matrix is not None:
        from qualcode.export.matrix import matrix_rows as table_rows

        header, rows = table_rows(report.matrix)
        lead = 2 if report.matrix.rows.is_codes else 1
        matrix_rows = [
            {"label": r[header[0]], "cells": [r[h] for h in header[lead:]]} for r in rows
        ]
        matrix_header = header[lead:]
    else:
        matrix_header = []
    template = _environment().get_template("report.html")
    # The charts are the only markup not escaped: SVG that matplotlib wrote, with every
    # label in it escaped by matplotlib.
    return template.render(
        report=report,
        notice_kind=kind,
        notice=notice,
        charts=[(c, Markup(c.svg)) for c in report.charts],
        matrix_svg=Markup(report.matrix_svg),
        matrix_header=matrix_header,
        matrix_rows=matrix_rows,
        toc_codes=_toc_codes(report.codes),
        version=__version__,
        total=TOTAL,
    )


def write_report(
    project: Project,
    path: str | Path,
    *,
    status: str | None = None,
    per_code: int = PER_CODE,
) -> tuple[Report, Path]:
    """Build, render and write the report (what ``qualcode report`` does)."""
    target = output_path(path, REPORT_SUFFIXES)  # a wrong name fails before any work
    report = build_report(project, status=status, per_code=per_code)
    html = render_report(report)
    tmp = target.with_name(target.name + ".tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise unwritable(target, exc) from exc
    return report, target
