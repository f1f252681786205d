"""REFI-QDA codebooks: the code tree in XML (shared with projects) and ``.qdc`` files.

A qualcode code becomes a REFI ``Code``: ``name`` is its label, ``Description`` its definition,
``color`` its colour, nesting its hierarchy; every code is codable. Reading goes the other way;
ids are made from the names (``Sociale impact`` → ``sociale_impact``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.codebook import Codebook, parse_codebook
from qualcode.refi.errors import RefiError
from qualcode.refi.ids import Guids, normalise_guid, slug, unique
from qualcode.refi.schema import (
    SCHEMA_LOCATIONS,
    XSI,
    Kind,
    element,
    parse_xml,
    serialise,
    tag,
    text_child,
)

_COLOR_RE = re.compile(r"^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")


def origin() -> str:
    from qualcode import __version__

    return f"qualcode {__version__}"


def normalise_color(value: str | None) -> str | None:
    """``#RRGGBB`` from ``#rgb`` or ``#rrggbb``; ``None`` when absent or invalid."""
    if not value or not _COLOR_RE.match(value.strip()):
        return None
    digits = value.strip()[1:]
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return "#" + digits


# -- writing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CodeNode:
    """A code to write: its path (for the GUID), label, definition, colour and children."""

    path: str
    label: str
    definition: str = ""
    color: str | None = None
    children: tuple[CodeNode, ...] = ()

    def walk(self) -> Iterator[CodeNode]:
        yield self
        for child in self.children:
            yield from child.walk()


def nodes_from_codebook(book: Codebook) -> list[CodeNode]:
    def node(code: Any) -> CodeNode:
        return CodeNode(
            code.path,
            code.label,
            code.definition,
            code.color,
            tuple(node(c) for c in code.children),
        )

    return [node(c) for c in book.codes]


def write_codes(
    parent: Any,
    kind: Kind,
    nodes: Iterable[CodeNode],
    guids: Guids,
    note_refs: Mapping[str, list[str]] | None = None,
) -> None:
    """``<Codes>`` under ``parent`` with nested ``<Code>`` elements (NoteRefs in projects)."""
    codes_el = element("Codes", kind, parent)

    def add(container: Any, node: CodeNode) -> None:
        code_el = element(
            "Code",
            kind,
            container,
            guid=guids("code", node.path),
            name=node.label,
            isCodable="true",
            color=normalise_color(node.color),
        )
        if node.definition:
            text_child(code_el, "Description", kind, node.definition)
        for note in (note_refs or {}).get(node.path, []):
            element("NoteRef", kind, code_el, targetGUID=note)
        for child in node.children:
            add(code_el, child)

    for node in nodes:
        add(codes_el, node)


def write_qdc(book: Codebook, path: str | Path) -> Path:
    """Write ``book`` as a REFI-QDA codebook (``.qdc``), validated against Codebook.xsd."""
    target = Path(path)
    root = element("CodeBook", "codebook", origin=origin())
    root.set(f"{{{XSI}}}schemaLocation", f"urn:QDA-XML:codebook:1.0 {SCHEMA_LOCATIONS['codebook']}")
    write_codes(root, "codebook", nodes_from_codebook(book), Guids.for_codebook(book.name))
    data = serialise(root, "codebook", str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RefiCode:
    """A ``<Code>`` as read from a file (GUIDs normalised to lowercase)."""

    guid: str
    name: str
    color: str | None
    description: str
    codable: bool
    note_refs: tuple[str, ...] = ()
    children: tuple[RefiCode, ...] = field(default=())
    line: int | None = None

    def walk(self) -> Iterator[RefiCode]:
        yield self
        for child in self.children:
            yield from child.walk()


def child_text(el: Any, kind: Kind, name: str) -> str:
    child = el.find(tag(kind, name))
    return (child.text or "").strip() if child is not None else ""


def read_codes(codes_el: Any, kind: Kind) -> list[RefiCode]:
    """The code tree under a ``<Codes>`` element."""

    def read(code_el: Any) -> RefiCode:
        return RefiCode(
            guid=normalise_guid(code_el.get("guid")),
            name=" ".join((code_el.get("name") or "").split()) or "(zonder naam)",
            color=normalise_color(code_el.get("color")),
            description=child_text(code_el, kind, "Description"),
            codable=code_el.get("isCodable", "true").strip() in ("true", "1"),
            note_refs=tuple(
                normalise_guid(n.get("targetGUID")) for n in code_el.findall(tag(kind, "NoteRef"))
            ),
            children=tuple(read(c) for c in code_el.findall(tag(kind, "Code"))),
            line=code_el.sourceline,
        )

    if codes_el is None:
        return []
    return [read(c) for c in codes_el.findall(tag(kind, "Code"))]


def assign_ids(
    codes: Iterable[RefiCode],
    *,
    known: Callable[[RefiCode], str | None] = lambda code: None,
    taken: set[str] | None = None,
) -> dict[str, str]:
    """GUID → code id: ``known(code)`` when it gives one, else a slug of the name.

    Ids are unique within ``taken`` (updated in place; pass one set per sibling group or one
    for the whole tree) by appending ``_2``, ``_3``...
    """
    taken = set() if taken is None else taken
    out: dict[str, str] = {}
    for code in codes:
        out[code.guid] = unique(known(code) or slug(code.name), taken)
        taken.add(out[code.guid])
    return out


def read_qdc(path: str | Path) -> tuple[list[RefiCode], str | None]:
    """The code tree of a ``.qdc`` file and the program that wrote it (``origin``)."""
    file = Path(path)
    if not file.exists():
        raise RefiError(f"{file}: file not found")
    root = parse_xml(file.read_bytes(), "codebook", str(file))
    return read_codes(root.find(tag("codebook", "Codes")), "codebook"), root.get("origin")


def codebook_yaml(codes: list[RefiCode], *, name: str, description: str = "") -> str:
    """YAML text in qualcode's codebook format for a REFI code tree (ids unique in the tree)."""
    import yaml

    ids = assign_ids([c for top in codes for c in top.walk()])

    def entry(code: RefiCode) -> dict[str, Any]:
        data: dict[str, Any] = {"id": ids[code.guid], "label": code.name}
        if code.description:
            data["definition"] = code.description
        if code.color:
            data["color"] = code.color
        if code.children:
            data["children"] = [entry(c) for c in code.children]
        return data

    document: dict[str, Any] = {"name": name, "language": "nl"}
    if description:
        document["description"] = description
    document["codes"] = [entry(c) for c in codes]
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def import_qdc(path: str | Path, output: str | Path) -> Codebook:
    """Convert a REFI-QDA ``.qdc`` into a qualcode codebook YAML file; returns it loaded."""
    file = Path(path)
    codes, made_by = read_qdc(file)
    if not codes:
        raise RefiError(f"{file}: the codebook has no codes")
    note = f"Imported from {file.name}" + (f" (made with {made_by})" if made_by else "") + "."
    text = codebook_yaml(codes, name=file.stem, description=note)
    target = Path(output)
    book = parse_codebook(text, str(target))  # what we write must load again
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(target)
    return book
