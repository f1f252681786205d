"""``qualcode codebook validate|show|export``: each problem on its YAML line; documents open."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from coding_helpers import CODING_YAML, assert_one_line_error, invoke

from qualcode.codebook import load_codebook, validate_codebook
from qualcode.errors import CodebookError

REPO = Path(__file__).resolve().parent.parent
MARK = "# <-"  # marks the line a problem must be reported on


def expected_line(text: str) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if MARK in line]
    assert len(lines) == 1, "put exactly one marker in the case"
    return lines[0]


def write_yaml(tmp_path: Path, text: str, name: str = "codeboek.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


# Each case is a small codebook with one problem; the marker is on the line it must be reported.
CASES = {
    "duplicate id": (
        """
        name: Dubbel
        codes:
          - id: impact
            label: Impact
            children:
              - id: eenzaamheid
                label: Eenzaamheid
          - id: doelgroep
            label: Doelgroep
            children:
              - id: eenzaamheid  # <-
                label: Nog eens eenzaamheid
        """,
        "duplicate id 'eenzaamheid' (first used on line 6)",
    ),
    "duplicate key (the first list would be lost)": (
        """
        name: Dubbele sleutel
        codes:
          - id: eenzaamheid
            label: Eenzaamheid
            keywords: [eenzaam, eenzaamheid]
            keywords: [vereenzamen]  # <-
        """,
        "duplicate key 'keywords' (first used on line 5)",
    ),
    "unknown key on a code": (
        """
        name: Typfout
        codes:
          - id: impact
            label: Impact
            children:
              - id: eenzaamheid
                label: Eenzaamheid
                keywrods: [eenzaam]  # <-
        """,
        "unknown key 'keywrods'",
    ),
    "unknown key in a pattern": (
        """
        name: Patroon
        codes:
          - id: schulden
            label: Schulden
            patterns:
              - id: geld_tekort
                pattern: [{LEMMA: geld}, {LEMMA: tekort}]
                weight: 2  # <-
        """,
        "unknown key 'weight' in pattern 1 of schulden",
    ),
    "unknown top-level key": (
        """
        name: Bovenaan
        colour: "#ffffff"  # <-
        codes:
          - id: impact
            label: Impact
        """,
        "unknown top-level key 'colour'",
    ),
    "empty label": (
        """
        name: Leeg label
        codes:
          - id: impact
            label: Impact
            children:
              - id: sociaal
                label: ""  # <-
        """,
        "'label' is empty",
    ),
    "blank label": (
        """
        name: Leeg label
        codes:
          - id: impact
            label:  # <-
        """,
        "'label' is empty",
    ),
    "missing label": (
        """
        name: Geen label
        codes:
          - id: impact
            label: Impact
            children:
              - id: sociaal  # <-
                definition: Gevolgen voor contacten.
        """,
        "code 'sociaal' has no 'label'",
    ),
    "uppercase id": (
        """
        name: Hoofdletters
        codes:
          - id: Impact  # <-
            label: Impact
        """,
        "id 'Impact' must be lowercase letters, digits and _",
    ),
    "id with a space": (
        """
        name: Spatie
        codes:
          - id: impact
            label: Impact
            children:
              - id: sociaal leven  # <-
                label: Sociaal leven
        """,
        "id 'sociaal leven' must be lowercase",
    ),
    "colour name": (
        """
        name: Kleur
        codes:
          - id: impact
            label: Impact
            color: blue  # <-
        """,
        "color 'blue' must look like #1f77b4",
    ),
    "short hex colour": (
        """
        name: Kleur
        codes:
          - id: impact
            label: Impact
            color: "#fff"  # <-
        """,
        "color '#fff' must look like",
    ),
    "pattern with an unknown attribute": (
        """
        name: Patroon
        codes:
          - id: schulden
            label: Schulden
            patterns:
              - id: onbekend
                pattern: [{FOO: schuld}]  # <-
        """,
        "spaCy rejects pattern 'onbekend'",
    ),
    "pattern with a bad OP": (
        """
        name: Patroon
        codes:
          - id: schulden
            label: Schulden
            patterns:
              - id: slechte_op
                effect: include
                pattern: [{LEMMA: geld}, {OP: "%"}, {LEMMA: tekort}]  # <-
        """,
        "spaCy rejects pattern 'slechte_op'",
    ),
    "bad effect": (
        """
        name: Effect
        codes:
          - id: schulden
            label: Schulden
            patterns:
              - id: blaam
                effect: negeer  # <-
                pattern: [{LOWER: jouw}, {LEMMA: schuld}]
        """,
        "'effect' must be include or exclude, not negeer",
    ),
    "YAML syntax error": (
        """
        name: Syntaxfout
        codes:
          - id: impact
            label: Impact: de gevolgen: alles  # <-
        """,
        "not valid YAML",
    ),
    "YAML indentation error": (
        """
        name: Inspringen
        codes:
          - id: impact
            label: Impact
           definition: verkeerd ingesprongen  # <-
        """,
        "not valid YAML",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_validate_reports_the_problem_on_its_line(tmp_path: Path, case: str) -> None:
    text, message = CASES[case]
    path = write_yaml(tmp_path, text)
    line = expected_line(textwrap.dedent(text).lstrip("\n"))

    problems, _ = validate_codebook(path)
    assert any(n == line and message in m for n, m in problems), problems

    result = invoke("codebook", "validate", path)
    assert result.exit_code == CodebookError.exit_code != 0
    assert f"{path}, line {line}: " in result.stderr
    reported = [s for s in result.stderr.splitlines() if s.startswith(f"{path}, line {line}: ")]
    assert any(message in s for s in reported), result.stderr
    assert_one_line_error(result)
    assert "valid (" not in result.stdout


def test_validate_lists_every_problem_of_a_file(tmp_path: Path) -> None:
    text = """
        name: Alles mis
        versie: "1"
        codes:
          - id: impact
            label: Impact
            lable: typo
            children:
              - id: sociaal
                label: ""
              - id: Sociaal Leven
                label: Sociaal leven
              - id: impact
                label: Dubbel
                color: blauw
              - id: zonder_label
                keywords: [eenzaam]
              - id: patronen
                label: Patronen
                patterns:
                  - id: p1
                    pattern: [{FOO: bar}]
                    weight: 2
        """
    path = write_yaml(tmp_path, text)
    problems, _ = validate_codebook(path)
    expected = [
        (2, "unknown top-level key 'versie'"),
        (6, "unknown key 'lable'"),
        (9, "'label' is empty"),
        (10, "id 'Sociaal Leven' must be lowercase letters, digits and _"),
        (12, "duplicate id 'impact' (first used on line 4)"),
        (14, "color 'blauw' must look like #1f77b4"),
        (15, "code 'zonder_label' has no 'label'"),
        (21, "spaCy rejects pattern 'p1': "),
        (22, "unknown key 'weight' in pattern 1 of impact/patronen"),
    ]
    assert len(problems) == len(expected), problems
    for (line, message), (want_line, want) in zip(problems, expected, strict=True):
        assert line == want_line and message.startswith(want), (line, message)
    assert [line for line, _ in problems] == sorted(line for line, _ in problems)

    result = invoke("codebook", "validate", path)
    assert result.exit_code == CodebookError.exit_code
    for line, message in problems:
        assert f"{path}, line {line}: {message}" in result.stderr
    assert_one_line_error(result, "(and 8 more problem(s))")


def test_validate_empty_file(tmp_path: Path) -> None:
    for text in ("", "\n\n# alleen commentaar\n"):
        path = tmp_path / "leeg.yaml"
        path.write_text(text, encoding="utf-8")
        result = invoke("codebook", "validate", path)
        assert result.exit_code == CodebookError.exit_code
        assert f"{path}: the codebook is empty" in result.stderr
        assert_one_line_error(result, "the codebook is empty")


def test_validate_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(
        b"name: Codeboek\ncodes:\n  - id: financieel\n    label: Financi\xeble impact\n"
    )
    problems, _ = validate_codebook(path)
    assert problems == [(4, "not UTF-8 text")]
    result = invoke("codebook", "validate", path)
    assert result.exit_code == CodebookError.exit_code
    assert f"{path}, line 4: not UTF-8 text" in result.stderr
    assert_one_line_error(result, "not UTF-8 text")


def test_validate_missing_file(tmp_path: Path) -> None:
    result = invoke("codebook", "validate", tmp_path / "bestaat_niet.yaml")
    assert_one_line_error(result, "codebook file not found")


def test_validate_valid_codebook() -> None:
    assert validate_codebook(CODING_YAML) == ([], [])
    result = invoke("codebook", "validate", CODING_YAML)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert result.stdout.strip() == (
        f"{CODING_YAML}: valid (9 codes, 5 leaves, 17 keywords, 0 context words, "
        "1 patterns, 6 examples)"
    )


def test_validate_model_attribute_is_a_warning_not_an_error(tmp_path: Path) -> None:
    path = write_yaml(
        tmp_path,
        """
        name: Met POS
        codes:
          - id: schulden
            label: Schulden
            patterns:
              - id: zelfstandig_naamwoord
                pattern: [{POS: NOUN, LEMMA: schuld}]
        """,
    )
    result = invoke("codebook", "validate", path)
    assert result.exit_code == 0, result.output
    assert "warning: line 7: pattern 'zelfstandig_naamwoord' uses POS" in result.stderr
    assert "valid (1 codes" in result.stdout


def test_impact_codebook_validates() -> None:
    path = REPO / "codebooks" / "impact.yaml"
    if not path.exists():
        pytest.skip("codebooks/impact.yaml is not there (being rewritten)")
    problems, _ = validate_codebook(path)
    assert problems == []
    assert invoke("codebook", "validate", path).exit_code == 0


# -- show ------------------------------------------------------------------------------------


def test_show_prints_the_tree_with_counts() -> None:
    result = invoke("codebook", "show", CODING_YAML)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "Testcodeboek coderen (version 0.2)"
    book = load_codebook(CODING_YAML)
    codes = list(book.walk())
    assert len(lines) == 1 + len(codes)
    for line, code in zip(lines[1:], codes, strict=True):
        indent = "  " * code.depth
        assert line.startswith(indent + code.id + " "), line
        assert not line[len(indent)].isspace()
        assert code.label in line
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert by_id["eenzaamheid"].startswith("    eenzaamheid")
    assert by_id["eenzaamheid"].endswith("[5 kw, 2 ex]")
    assert by_id["schulden"].endswith("[3 kw, 2 ex, 1 pat]")
    assert by_id["impact"].endswith("Impact  [0 kw, 0 ex]")
    assert by_id["jongeren"].startswith("  jongeren")


def test_show_invalid_codebook_is_an_error(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, "name: x\ncodes:\n  - id: A\n    label: a\n")
    result = invoke("codebook", "show", path)
    assert result.exit_code == CodebookError.exit_code
    assert_one_line_error(result, f"{path}, line 3: id 'A' must be lowercase")


# -- export ----------------------------------------------------------------------------------


def test_export_markdown(tmp_path: Path) -> None:
    target = tmp_path / "codeboek.md"
    result = invoke("codebook", "export", CODING_YAML, "-o", target)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"Wrote {target}"
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Testcodeboek coderen\n")
    headings = [line for line in text.splitlines() if line.startswith("#")]
    book = load_codebook(CODING_YAML)
    assert headings[1:] == [f"{'#' * (c.depth + 2)} {c.label} (`{c.path}`)" for c in book.walk()]
    assert "**Definitie.** Zich alleen voelen, weinig contact hebben, sociaal isolement." in text
    assert "> Mijn moeder zag weken niemand en voelde zich heel eenzaam." in text
    # '=' only switches compound matching off; it is not part of the keyword shown
    assert "*Trefwoorden:* schuld, betalingsachterstand, rood staan" in text


def test_export_xlsx(tmp_path: Path) -> None:
    import openpyxl

    target = tmp_path / "codeboek.xlsx"
    result = invoke("codebook", "export", CODING_YAML, "--output", target)
    assert result.exit_code == 0, result.output
    workbook = openpyxl.load_workbook(target)
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:4] == ["pad", "niveau", "label", "definitie"]
    book = load_codebook(CODING_YAML)
    assert [(r[0], r[1], r[2]) for r in rows[1:]] == [
        (c.path, c.depth + 1, c.label) for c in book.walk()
    ]
    by_path = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    row = by_path["impact/sociaal/eenzaamheid"]
    assert row["trefwoorden"] == (
        "eenzaam, eenzaamheid, vereenzamen, sociaal isolement, niemand zien"
    )
    assert row["kleur"] == "#ff7f0e"
    assert "Mijn moeder zag weken niemand" in row["voorbeelden"]
    assert sheet.freeze_panes == "A2"


def test_export_docx(tmp_path: Path) -> None:
    import docx

    target = tmp_path / "codeboek.docx"
    result = invoke("codebook", "export", CODING_YAML, "-o", target)
    assert result.exit_code == 0, result.output
    document = docx.Document(str(target))
    assert document.core_properties.title == "Testcodeboek coderen"
    headings = [
        (p.style.name, p.text)
        for p in document.paragraphs
        if p.style.name.startswith(("Heading", "Title"))
    ]
    book = load_codebook(CODING_YAML)
    assert headings[0] == ("Title", "Testcodeboek coderen")
    assert headings[1:] == [(f"Heading {c.depth + 1}", c.label) for c in book.walk()]
    texts = [p.text for p in document.paragraphs]
    for code in book.walk():
        assert code.path in texts  # the full path under every heading
    assert "Mijn moeder zag weken niemand en voelde zich heel eenzaam." in texts


@pytest.mark.parametrize("name", ["codeboek.pdf", "codeboek.yaml", "codeboek"])
def test_export_unsupported_suffix(tmp_path: Path, name: str) -> None:
    target = tmp_path / name
    result = invoke("codebook", "export", CODING_YAML, "-o", target)
    assert_one_line_error(result, "cannot write a codebook as")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


# -- patterns checked once ---------------------------------------------------------------------

# one of the cases above: a pattern spaCy rejects ('onbekend', on a code with id 'schulden')
BAD_PATTERN = textwrap.dedent(CASES["pattern with an unknown attribute"][0]).lstrip("\n")


def test_patterns_are_not_checked_again_for_a_text_checked_before(tmp_path: Path) -> None:
    from qualcode.codebook import patterns_digest

    path = write_yaml(tmp_path, BAD_PATTERN)
    with pytest.raises(CodebookError, match="spaCy rejects pattern 'onbekend'"):
        load_codebook(path)
    # only a digest that the caller remembered for exactly this text skips spaCy's check
    with pytest.raises(CodebookError):
        load_codebook(path, checked={patterns_digest("something else")})
    book = load_codebook(path, checked={patterns_digest(path.read_text(encoding="utf-8"))})
    assert book.patterns_digest == patterns_digest(path.read_text(encoding="utf-8"))


def test_a_project_remembers_the_codebook_spacy_accepted(tmp_path: Path) -> None:
    from qualcode.codes import resolve_codebook
    from qualcode.suggest import suggest

    path = tmp_path / "codeboek.yaml"
    path.write_text(CODING_YAML.read_text(encoding="utf-8"), encoding="utf-8")
    project_dir = tmp_path / "studie"
    assert invoke("init", project_dir).exit_code == 0
    from qualcode.store import open_project

    with open_project(project_dir) as project:
        book = resolve_codebook(project, path)
        # reading a codebook writes nothing; suggest remembers it with its suggestions
        assert project.meta("codebook_patterns_checked") is None
        suggest(project, codebook=path)
        assert project.meta("codebook_patterns_checked") == book.patterns_digest
        # a pattern edited into something spaCy rejects is checked, not trusted
        extra = BAD_PATTERN.split("codes:\n", 1)[1].replace("id: schulden", "id: nieuw")
        path.write_text(path.read_text(encoding="utf-8") + extra, encoding="utf-8")
        with pytest.raises(CodebookError, match="spaCy rejects pattern 'onbekend'"):
            resolve_codebook(project, path)
        assert project.meta("codebook_patterns_checked") == book.patterns_digest
