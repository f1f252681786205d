"""The codebook as a document a student can hand in: Markdown, Excel or Word."""

from __future__ import annotations

from pathlib import Path

from qualcode.codebook import Code, Codebook
from qualcode.errors import QualcodeError


def codebook_markdown(book: Codebook) -> str:
    lines = [f"# {book.name}", ""]
    if book.version:
        lines += [f"Versie {book.version}", ""]
    if book.description:
        lines += [book.description.strip(), ""]
    for code in book.walk():
        level = min(code.depth + 2, 6)
        lines += [f"{'#' * level} {code.label} (`{code.path}`)", ""]
        if code.definition:
            lines += [f"**Definitie.** {code.definition}", ""]
        for title, items in (("Wel coderen", code.include), ("Niet coderen", code.exclude)):
            if items:
                lines += [f"**{title}:**", "", *[f"- {i}" for i in items], ""]
        if code.examples:
            lines += ["**Voorbeelden:**", "", *[f"> {e}" + "\n" for e in code.examples]]
        for title, words in (("Trefwoorden", code.keywords), ("Contextwoorden", code.context)):
            if words:
                lines += [f"*{title}:* {_words(words)}", ""]
    return "\n".join(lines).rstrip() + "\n"


def _words(words: tuple[str, ...]) -> str:
    return ", ".join(k.lstrip("=") for k in words)


def _rows(book: Codebook) -> list[dict[str, object]]:
    return [
        {
            "pad": c.path,
            "niveau": c.depth + 1,
            "label": c.label,
            "definitie": c.definition,
            "wel coderen": "\n".join(c.include),
            "niet coderen": "\n".join(c.exclude),
            "voorbeelden": "\n\n".join(c.examples),
            "trefwoorden": _words(c.keywords),
            "contextwoorden": _words(c.context),
            "kleur": c.color,
        }
        for c in book.walk()
    ]


def _docx(book: Codebook, path: Path) -> None:
    import docx
    from docx.shared import Pt, RGBColor

    document = docx.Document()
    document.core_properties.title = book.name
    document.add_heading(book.name, level=0)
    if book.description:
        document.add_paragraph(book.description.strip())

    def add(code: Code) -> None:
        heading = document.add_heading(f"{code.label}", level=min(code.depth + 1, 9))
        if code.color:
            for run in heading.runs:
                run.font.color.rgb = RGBColor.from_string(code.color.lstrip("#").upper())
        meta = document.add_paragraph()
        path_run = meta.add_run(code.path)
        path_run.font.size = Pt(9)
        path_run.italic = True
        if code.definition:
            p = document.add_paragraph()
            p.add_run("Definitie. ").bold = True
            p.add_run(code.definition)
        for title, items in (("Wel coderen", code.include), ("Niet coderen", code.exclude)):
            if items:
                document.add_paragraph().add_run(title).bold = True
                for item in items:
                    document.add_paragraph(item, style="List Bullet")
        if code.examples:
            document.add_paragraph().add_run("Voorbeelden").bold = True
            for example in code.examples:
                document.add_paragraph(example, style="Quote")
        for title, words in (("Trefwoorden", code.keywords), ("Contextwoorden", code.context)):
            if words:
                p = document.add_paragraph()
                p.add_run(f"{title}: ").italic = True
                p.add_run(_words(words))
        for child in code.children:
            add(child)

    for code in book.codes:
        add(code)
    tmp = path.with_name(path.name + ".tmp")
    document.save(str(tmp))
    tmp.replace(path)


def export_codebook(book: Codebook, path: str | Path) -> Path:
    """Write the codebook as .md, .xlsx, .docx or a REFI-QDA codebook (.qdc)."""
    from qualcode.export.tables import save_workbook, write_xlsx

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = target.suffix.lower()
    if suffix == ".md":
        target.write_text(codebook_markdown(book), encoding="utf-8")
    elif suffix == ".xlsx":
        rows = _rows(book)
        columns = list(rows[0]) if rows else ["pad"]
        book_xlsx = write_xlsx(
            target,
            [("codeboek", columns, rows)],
            widths={
                "pad": 40,
                "label": 28,
                "definitie": 60,
                "wel coderen": 45,
                "niet coderen": 45,
                "voorbeelden": 60,
                "trefwoorden": 50,
                "contextwoorden": 40,
            },
            wrap=(
                "definitie",
                "wel coderen",
                "niet coderen",
                "voorbeelden",
                "trefwoorden",
                "contextwoorden",
            ),
        )
        save_workbook(book_xlsx, target)
    elif suffix == ".docx":
        _docx(book, target)
    elif suffix == ".qdc":
        from qualcode.refi.codebook import write_qdc

        write_qdc(book, target)
    else:
        raise QualcodeError(
            f"cannot write a codebook as '{target.suffix}'", "use .md, .xlsx, .docx or .qdc"
        )
    return target
