"""``qualcode report``: one self-contained HTML file.

Counts are checked against the hand-checked project of ``fixtures/matrix`` (see the table in
its README and the expected numbers in ``test_matrix.py``): 15 passages with a person's coding,
two open suggestions (J#8 spanningen, M#4 eenzaamheid) and speakers called Marieke and
Jan de Vries, whose names must never show. A second project, made by ``qualcode run`` on the
suggest fixture corpus, has nothing but suggestions.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from coding_helpers import (
    CODING_YAML,
    EENZAAMHEID,
    SUGGEST_CORPUS,
    add_coding,
    assert_one_line_error,
    copy_project,
    invoke,
)
from test_matrix import CODEBOOK, CORPUS, build_fixture_project

EENZAAM = "impact/sociaal/eenzaamheid"
SPANNING = "impact/sociaal/spanningen"
SECTIONS = ["overzicht", "frequenties", "doelgroepenmatrix", "codes", "beoordeling"]
CODEBOOK_ORDER = [
    "impact", "impact/sociaal", EENZAAM, SPANNING, "impact/financieel",
    "impact/financieel/schulden", "doelgroep", "doelgroep/ouderen", "doelgroep/jongeren",
]  # fmt: skip
NAMES = re.compile(r"marieke|vries|\bjan\b", re.IGNORECASE)
# Anything that makes a browser fetch something: src=, href=, @import, url(...).
REFERENCE_RE = re.compile(
    r"""(?:\bsrc|\bhref)\s*=\s*["']?([^"'\s>]*)|@import\s+([^;]+)|url\(\s*["']?([^"')]*)""",
    re.IGNORECASE,
)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}  # fmt: skip


# -- fixtures --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fixture_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_fixture_project(tmp_path_factory.mktemp("report") / "project")


@pytest.fixture(scope="module")
def accepted(fixture_project: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The report of the hand-checked project, made by the command line."""
    target = tmp_path_factory.mktemp("html") / "uit" / "rapport.html"
    result = invoke("report", "--project", fixture_project, "-o", target)
    assert result.exit_code == 0, result.output
    return result, target.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def run_project(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``qualcode run``: nothing but the machine's suggestions."""
    out = tmp_path_factory.mktemp("run") / "uit"
    result = invoke("run", SUGGEST_CORPUS, "--out", out, "--codebook", CODING_YAML)
    assert result.exit_code == 0, result.output
    return out, result


@pytest.fixture
def project(fixture_project: Path):  # type: ignore[no-untyped-def]
    from qualcode.store import open_project

    with open_project(fixture_project) as proj:
        yield proj


def tree(text: str):  # type: ignore[no-untyped-def]
    import lxml.html

    return lxml.html.fromstring(text)


def text_of(element) -> str:  # type: ignore[no-untyped-def]
    return " ".join(element.text_content().split())


def table_rows(element) -> list[list[str]]:  # type: ignore[no-untyped-def]
    return [[text_of(c) for c in row.xpath("./td|./th")] for row in element.xpath(".//tr")]


class Balance(HTMLParser):
    """Every element that is opened is closed, in order (void elements excepted)."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
        else:
            self.stack.pop()


def assert_offline(text: str) -> None:
    references = [next(g for g in m.groups() if g is not None) for m in REFERENCE_RE.finditer(text)]
    assert references, "expected in-page links (table of contents) and SVG references"
    outside = [r for r in references if not r.strip().startswith("#")]
    assert not outside, outside[:5]
    assert not re.search(r"<(?:script|link|img|iframe|object|embed)\b", text, re.IGNORECASE)
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?(?:https?:)?//", text, re.IGNORECASE)


# -- the report of a reviewed project --------------------------------------------------------


def test_command_prints_what_it_wrote(accepted) -> None:  # type: ignore[no-untyped-def]
    result, _ = accepted
    assert re.search(
        r"Wrote \S+rapport\.html: 4 documents, 9 codes with passages, \d+ quotes "
        r"\(status accepted, chosen automatically\)\.",
        result.stdout,
    ), result.stdout
    assert "2 suggestions on 2 passages are not reviewed yet." in result.stderr


def test_html_parses_and_has_every_section(accepted) -> None:  # type: ignore[no-untyped-def]
    _, text = accepted
    parser = Balance()
    parser.feed(text)
    parser.close()
    assert not parser.errors, parser.errors[:5]
    assert parser.stack == []
    page = tree(text)
    assert page.get("lang") == "nl"
    ids = set(page.xpath("//@id"))
    assert set(SECTIONS) | {"verantwoording", "inhoud"} <= ids
    assert "themas" not in ids  # no topics run in this project
    # every link of the table of contents leads somewhere in the page
    links = [a.get("href") for a in page.xpath("//nav//a")]
    assert [f"#{s}" for s in SECTIONS] == [h for h in links if h[1:] in SECTIONS]
    assert all(h.startswith("#") and h[1:] in ids for h in links)
    assert "@media print" in text


def test_works_offline(accepted) -> None:  # type: ignore[no-untyped-def]
    _, text = accepted
    assert_offline(text)


def test_charts_are_inline_svg_with_the_counts(accepted) -> None:  # type: ignore[no-untyped-def]
    _, text = accepted
    page = tree(text)
    charts = page.xpath("//figure[starts-with(@id, 'grafiek-')]")
    # every code with sub-codes down to the kinds of impact: impact, sociaal, financieel,
    # doelgroep (the kinds of impact of this codebook have leaves only)
    assert [f.get("id") for f in charts] == [
        "grafiek-impact",
        "grafiek-impact-sociaal",
        "grafiek-impact-financieel",
        "grafiek-doelgroep",
    ]
    assert len(re.findall(r"<svg\b", text)) == len(charts) + 1  # + the heat map
    for figure in charts:
        assert len(figure.xpath(".//*[local-name()='svg']")) == 1
    sociaal = table_rows(charts[1].xpath(".//table")[0])
    assert sociaal == [["code", "passages"], ["Eenzaamheid", "7"], ["Spanningen in de buurt", "3"]]
    assert table_rows(charts[3].xpath(".//table")[0])[1:] == [["Ouderen", "3"], ["Jongeren", "7"]]
    # the labels are text inside the SVG, not paths: searchable, small
    svg = re.findall(r"<svg\b.*?</svg>", text, re.DOTALL)[1]
    assert ">Eenzaamheid</text>" in svg and ">Spanningen in de buurt</text>" in svg


def test_doelgroepenmatrix_with_counts_and_rule(accepted) -> None:  # type: ignore[no-untyped-def]
    _, text = accepted
    section = tree(text).xpath("//section[h2[@id='doelgroepenmatrix']]")[0]
    heat = section.xpath(".//figure//*[local-name()='svg']")
    assert len(heat) == 1
    # hand-checked (test_matrix.py): target groups by kind of impact
    assert table_rows(section.xpath(".//table")[0]) == [
        ["doelgroep", "Sociale impact", "Financiële impact", "Totaal"],
        ["Ouderen", "2", "1", "3"],
        ["Jongeren", "5", "2", "7"],
        ["Totaal", "7", "3", "10"],
    ]
    rule = [text_of(li) for li in section.xpath(".//ul[@class='rule']/li")]
    assert rule[0].startswith("Elke cel telt de passages")
    assert any("telt mee voor de bovenliggende code" in s for s in rule)
    assert any(s.startswith("Meegeteld: geaccepteerde en handmatige coderingen") for s in rule)


def test_overview_documents_and_totals(accepted) -> None:  # type: ignore[no-untyped-def]
    _, text = accepted
    section = tree(text).xpath("//section[h2[@id='overzicht']]")[0]
    rows = table_rows(section.xpath(".//table")[0])
    assert rows[0] == ["document", "soort", "setting", "sprekers", "woorden", "passages",
                       "gecodeerd"]  # fmt: skip
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["fg_jongeren.txt"][1:3] == ["focusgroep", "focusgroep 1 (Den Haag)"]
    assert by_name["int_huurder.txt"][1:3] == ["interview", "interview 1 (Utrecht)"]
    # coded passages per document (frequency table of test_matrix.py): B 4, J 7, H 3, M 1
    assert [r[6] for r in rows[1:]] == ["4", "7", "3", "1", "15"]
    # notities_marieke.txt: the file name holds a speaker's name
    assert "document 4*" in by_name
    assert rows[-1][0] == "Totaal"
    assert int(rows[-1][5]) == sum(int(r[5]) for r in rows[1:-1])
    assert "minstens één code die meetelt" in text_of(section)


def test_codes_in_codebook_order_with_counts(accepted) -> None:  # type: ignore[no-untyped-def]
    _, text = accepted
    blocks = tree(text).xpath("//div[@class='code']")
    assert [b.xpath(".//p[@class='path']")[0].text for b in blocks] == CODEBOOK_ORDER
    counts = {
        b.xpath(".//p[@class='path']")[0].text: text_of(b.xpath(".//p[@class='counts']")[0])
        for b in blocks
    }
    # passages and documents, sub-codes rolled up (hand-checked in test_matrix.py)
    assert counts["impact"].startswith("15 passages in 4 documenten")
    assert counts[EENZAAM].startswith("7 passages in 4 documenten")
    assert counts[SPANNING].startswith("3 passages in 2 documenten")
    assert counts["doelgroep/jongeren"] == "7 passages in 2 documenten."
    # the open suggestion for eenzaamheid (M#4) is shown, but not counted
    assert (
        "1 passage met een suggestie die nog niemand heeft beoordeeld (niet meegeteld)"
        in (counts[EENZAAM])
    )
    eenzaam = blocks[2]
    assert eenzaam.xpath(".//h5")[0].text == "Eenzaamheid"
    assert "Zich alleen voelen" in text_of(eenzaam)


def test_quotes_with_attribution_and_no_names(accepted, project) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.quotes import select_quotes

    _, text = accepted
    selection = select_quotes(project, per_code=3, status="accepted")
    assert selection.quotes
    page = tree(text)
    shown = [
        (text_of(q), text_of(q.getnext())) for q in page.xpath("//div[@class='code']/blockquote")
    ]
    assert shown == [(" ".join(q.text.split()), f"— {q.attribution}") for q in selection.quotes]
    attributions = {q.attribution for q in selection.quotes}
    assert "wijkagent, focusgroep 2 (Zwolle)" in attributions  # Jan de Vries, by his role
    assert "huurder, interview 1 (Utrecht)" in attributions
    # no speaker's name anywhere: not in quotes, attributions, file names or charts
    assert not NAMES.search(text), NAMES.search(text)
    assert "Hoe de citaten zijn gekozen" in text and selection.method_note() in html.unescape(text)


def test_unreviewed_suggestions_are_counted(accepted) -> None:  # type: ignore[no-untyped-def]
    _, text = accepted
    page = tree(text)
    assert text_of(page.get_element_by_id("open-suggesties")) == "2 suggesties"
    section = page.xpath("//section[h2[@id='beoordeling']]")[0]
    assert table_rows(section.xpath(".//table")[0]) == [
        ["code", "passages met een open suggestie"],
        ["Impact", "2"],
        ["Sociale impact", "2"],
        ["Eenzaamheid", "1"],
        ["Spanningen in de buurt", "1"],
    ]
    notice = page.get_element_by_id("status-melding")
    assert notice.get("class") == "notice info"
    assert text_of(notice) == (
        "De cijfers gaan uit van geaccepteerde en handmatige coderingen (beslissingen van een "
        "onderzoeker); 2 suggesties bij 2 passages zijn nog door niemand beoordeeld en tellen "
        "niet mee."
    )


# -- straight after 'qualcode run': only suggestions -----------------------------------------


def test_run_writes_the_report(run_project) -> None:  # type: ignore[no-untyped-def]
    out, result = run_project
    assert "  report.html" in result.stdout
    text = (out / "report.html").read_text(encoding="utf-8")
    assert not list(out.glob("*.tmp"))
    assert_offline(text)
    page = tree(text)
    assert set(SECTIONS) <= set(page.xpath("//@id"))
    assert page.xpath("//figure[starts-with(@id, 'grafiek-')]//*[local-name()='svg']")


def test_default_status_is_any_until_someone_reviews(run_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qualcode.export.report import build_report, default_status, render_report
    from qualcode.store import open_project

    out, _ = run_project
    with open_project(out) as proj:
        report = build_report(proj)
        assert default_status(proj) == "any"
    assert (report.status, report.status_auto, report.decisions) == ("any", True, 0)
    assert report.open_suggestions > 0 and report.totals.coded == report.open_passages
    page = tree(render_report(report))
    notice = page.get_element_by_id("status-melding")
    assert notice.get("class") == "notice warning"
    assert text_of(notice).startswith("Nog niemand heeft de suggesties van qualcode beoordeeld.")
    # every quote rests on a suggestion, and says so
    tags = page.xpath("//div[@class='code']/blockquote/span[@class='tag']")
    assert tags and len(tags) == len(report.quotes)

    # one accepted coding: from now on the figures are the people's decisions
    copy = copy_project(out, tmp_path / "beoordeeld")
    add_coding(copy, "fg_ouderen.txt", 2, EENZAAMHEID, "accepted")
    with open_project(copy) as proj:
        assert default_status(proj) == "accepted"
        reviewed = build_report(proj)
        chosen = build_report(proj, status="any")
    assert (reviewed.status, reviewed.status_auto, reviewed.decisions) == ("accepted", True, 1)
    assert reviewed.totals.coded == 1
    counts = {c.path: c.passages for c in reviewed.codes if c.passages}
    assert counts == {"impact": 1, "impact/sociaal": 1, EENZAAMHEID: 1}
    notice = tree(render_report(reviewed)).get_element_by_id("status-melding")
    assert notice.get("class") == "notice info"
    assert text_of(notice).startswith("De cijfers gaan uit van geaccepteerde en handmatige")
    # --status any is the user's choice: the suggestions count again, and the page says so
    assert (chosen.status, chosen.status_auto) == ("any", False)
    assert chosen.totals.coded == report.totals.coded
    assert {c.path: c.decided for c in chosen.codes if c.decided} == counts
    page = tree(render_report(chosen))
    assert "Gekozen met --status any." in text_of(page.get_element_by_id("beoordeling").getparent())


def test_project_without_codings_still_gets_a_report(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from qualcode.codebook import load_codebook
    from qualcode.codes import sync_codes
    from qualcode.ingest import ingest_files
    from qualcode.store import init_project

    with init_project(tmp_path / "leeg", codebook=CODEBOOK) as proj:
        ingest_files(proj, [CORPUS], metadata=CORPUS / "metadata.csv")
        sync_codes(proj, load_codebook(CODEBOOK))
    result = invoke("report", "--project", tmp_path / "leeg")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "leeg" / "report.html").read_text(encoding="utf-8")
    assert "Er zijn nog geen coderingen" in text
    assert "<svg" not in text
    # asked for explicitly, a status without codings is an error with a hint
    result = invoke("report", "--project", tmp_path / "leeg", "--status", "any")
    assert_one_line_error(result, "no codings")


# -- new themes ------------------------------------------------------------------------------


def _save_topics(project_dir: Path) -> None:
    """Two stored topics, as 'qualcode topics' stores them (no model fit: that takes long)."""
    from qualcode.segments import coded_units
    from qualcode.store import open_project
    from qualcode.topics.storage import TopicRecord, save_topics
    from qualcode.topics.units import TopicUnit

    with open_project(project_dir) as proj:
        units = {s.key: s for s in coded_units(proj)}

        def member(key: str, rank: int | None) -> tuple[TopicUnit, float, int | None]:
            seg = units[key]
            return TopicUnit(seg, 0, 0, len(seg.text), "lemma"), 0.9, rank

        records = [
            TopicRecord(
                0,
                "schuld, gokken, afbetaling",
                [("schuld", 0.4, 0.8), ("gokken", 0.3, 1.0)],
                "impact/financieel/schulden",
                0.61,
                # Marieke (J#4) and Jan de Vries (B#4): quoted by role, never by name
                [member("fg_jongeren.txt#4", 1), member("fg_buurt.txt#4", 2)],
            ),
            TopicRecord(
                1,
                "koor, kerk, <stoppen>",
                [("koor", 0.5, 1.0)],
                "doelgroep/ouderen",
                0.12,
                [member("notities_marieke.txt#2", 1), member("int_huurder.txt#2", None)],
            ),
        ]
        save_topics(proj, records, params={"unit": "segment"}, summary={"passages": 11})


def test_new_themes_when_topics_exist(fixture_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    copy = copy_project(fixture_project, tmp_path / "topics")
    _save_topics(copy)
    result = invoke("report", "--project", copy)
    assert result.exit_code == 0, result.output
    assert ", 2 topics (status accepted" in result.stdout
    text = (copy / "report.html").read_text(encoding="utf-8")
    page = tree(text)
    assert page.xpath("//nav//a[@href='#themas']")
    topics = page.xpath("//div[@class='topic']")
    assert [t.get("id") for t in topics] == ["thema-0", "thema-1"]
    first, second = (text_of(t) for t in topics)
    assert "2 passages; dichtstbijzijnde code: Schulden (overeenkomst 0,61)" in first
    assert "nieuw thema (dichtstbijzijnde code: Ouderen) (overeenkomst 0,12)" in second
    assert "koor, kerk, &lt;stoppen&gt;" in text  # a label is text, escaped
    credits = [text_of(c) for c in page.xpath("//div[@class='topic']/p[@class='credit']")]
    assert credits == [
        "— deelnemer, focusgroep 1 (Den Haag)",
        "— wijkagent, focusgroep 2 (Zwolle)",
        "— deelnemer",
    ]
    assert not NAMES.search(text), NAMES.search(text)
    assert_offline(text)


# -- escaping --------------------------------------------------------------------------------


def test_every_piece_of_text_is_escaped(project) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from qualcode.export.report import ChartBar, bar_chart, build_report, render_report

    report = build_report(project)
    evil = '<script>alert("x")</script> & <b>'
    quote = replace(report.codes[2].quotes[0], text=evil, attribution=evil)
    report.codes[2] = replace(report.codes[2], label=evil, definition=evil, quotes=(quote,))
    report.documents[0] = replace(report.documents[0], name=evil, setting=evil)
    report.title = evil
    text = render_report(report)
    assert "<script" not in text and "<b>" not in text
    assert text.count("&lt;script&gt;") >= 6
    svg = bar_chart([ChartBar("x", evil, 3, 1)], "any", "test")
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.startswith("<svg") and "<?xml" not in svg and "DOCTYPE" not in svg


# -- errors ----------------------------------------------------------------------------------


def test_empty_project_is_a_one_line_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert invoke("init", tmp_path / "leeg").exit_code == 0
    result = invoke("report", "--project", tmp_path / "leeg")
    assert_one_line_error(result, "the project has no documents yet")
    assert not (tmp_path / "leeg" / "report.html").exists()


def test_status_without_codings_is_a_one_line_error(run_project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out, _ = run_project
    result = invoke("report", "--project", out, "--status", "accepted", "-o", tmp_path / "r.html")
    assert_one_line_error(result, "no accepted or manual codings")
    assert "--status any" in result.stderr


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("rapport.pdf", "unknown file type"),
        ("map", "is a directory"),
        ("bestand.txt/rapport.html", "cannot write"),
    ],
)
def test_unwritable_paths_are_one_line_errors(fixture_project, tmp_path, target, fragment) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "map").mkdir()
    (tmp_path / "bestand.txt").write_text("x", encoding="utf-8")
    result = invoke("report", "--project", fixture_project, "-o", tmp_path / target)
    assert_one_line_error(result, fragment)


def test_per_code_out_of_range_is_refused(fixture_project) -> None:  # type: ignore[no-untyped-def]
    result = invoke("report", "--project", fixture_project, "--per-code", "0")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "--per-code" in result.stderr


def test_passages_and_codings_are_read_once_per_report(fixture_project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The frequency table, the matrix, the quotes, the decided part of each bar and the open
    suggestions share one read of the passages and one of the codings."""
    from qualcode import segments
    from qualcode.export import matrix, report
    from qualcode.store import open_project

    calls: list[str] = []
    for module, name in (
        (matrix, "load_units"),
        (report, "load_units"),
        (segments, "effective_codings"),
    ):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name, **kwargs):  # type: ignore[no-untyped-def]
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    with open_project(fixture_project) as project:
        built = report.build_report(project, status="any")
    assert built.quotes and built.matrix is not None
    assert sorted(calls) == ["effective_codings", "load_units"]


def test_gc_pauses_only_while_the_report_is_built(fixture_project, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gc

    from qualcode.export import quotes, report
    from qualcode.store import open_project

    seen: list[bool] = []
    for module, name in ((report, "charts"), (quotes, "_quotes_for")):
        real = getattr(module, name)

        def spy(*args, _real=real, **kwargs):  # type: ignore[no-untyped-def]
            seen.append(gc.isenabled())
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, spy)
    with open_project(fixture_project) as project:
        assert gc.isenabled()
        report.build_report(project, status="any")
        assert gc.isenabled() and seen and not any(seen)
        gc.disable()  # a caller's own choice is left as it was
        try:
            quotes.select_quotes(project, status="any")
            assert not gc.isenabled()
        finally:
            gc.enable()
