"""The REFI-QDA 1.0 schemas: safe parsing and validation of ``project.qde`` and ``.qdc`` XML.

The XSDs ship in ``qualcode/data`` (see its README) and are loaded once, offline. Every file
qualcode writes is validated before it is written, and every file it reads is validated before
anything is imported, so a problem is reported as one line naming the file and the XML line.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Literal

from qualcode.refi.errors import RefiError

Kind = Literal["project", "codebook"]

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
NAMESPACES: dict[Kind, str] = {"project": PROJECT_NS, "codebook": CODEBOOK_NS}
SCHEMA_FILES: dict[Kind, str] = {"project": "Project.xsd", "codebook": "Codebook.xsd"}
SCHEMA_LOCATIONS: dict[Kind, str] = {
    "project": "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd",
    "codebook": "http://schema.qdasoftware.org/versions/Codebook/v1.0/Codebook.xsd",
}
ROOTS: dict[Kind, str] = {"project": "Project", "codebook": "CodeBook"}
XSI = "http://www.w3.org/2001/XMLSchema-instance"

# Other spellings of the namespace seen in files written by QDA programs (NVivo 12 for Mac
# writes 'codebook:1:0', older ATLAS.ti versions '0:4'); the content is the same standard.
_VARIANT_NS = re.compile(r"^urn:QDA-XML:(project|codebook):[0-9][0-9.:]*$", re.IGNORECASE)
# Characters XML 1.0 cannot hold; lxml refuses them, so text going into XML drops them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` without the control characters XML 1.0 does not allow."""
    return _NOT_XML.sub("", value)


@cache
def load_schema(kind: Kind) -> Any:
    """The compiled XSD (``lxml.etree.XMLSchema``) shipped in ``qualcode/data``."""
    from importlib.resources import files

    from lxml import etree

    resource = files("qualcode").joinpath("data", SCHEMA_FILES[kind])
    with resource.open("rb") as handle:
        return etree.XMLSchema(etree.parse(handle))


def validate(root: Any, kind: Kind, file: str) -> None:
    """Raise :class:`RefiError` with the first schema problem (line and message)."""
    schema = load_schema(kind)
    if schema.validate(root):
        return
    error = schema.error_log.filter_from_errors()[0]
    message = re.sub(r"\{urn:QDA-XML:[a-z]+:1\.0\}", "", error.message)
    raise RefiError(
        f"{file}, line {error.line}: does not follow the REFI-QDA {kind} schema: {message}",
        "the file is damaged or not a REFI-QDA 1.0 file; export it again from the program",
    )


def _normalise_namespace(root: Any, kind: Kind) -> Any:
    """Rename elements in a variant namespace (``codebook:1:0``) to the 1.0 namespace."""
    namespace = root.nsmap.get(root.prefix)
    if namespace == NAMESPACES[kind] or not namespace or not _VARIANT_NS.match(namespace):
        return root
    from lxml import etree

    target = NAMESPACES[kind]
    for element in root.iter(etree.Element):
        qname = etree.QName(element)
        if qname.namespace == namespace:
            element.tag = f"{{{target}}}{qname.localname}"
    etree.cleanup_namespaces(root, top_nsmap={None: target})
    return root


def parse_xml(data: bytes, kind: Kind, file: str) -> Any:
    """Parse REFI-QDA XML safely (no DTDs, entities or network) and validate it."""
    from lxml import etree

    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or "?"
        raise RefiError(
            f"{file}, line {line}: not valid XML ({exc.msg})",
            "the file is damaged; export it again from the program",
        ) from exc
    root = _normalise_namespace(root, kind)
    expected = f"{{{NAMESPACES[kind]}}}{ROOTS[kind]}"
    if root.tag != expected:
        found = etree.QName(root)
        raise RefiError(
            f"{file}: expected a REFI-QDA {kind} file (<{ROOTS[kind]}> in namespace "
            f"{NAMESPACES[kind]}), found <{found.localname}>"
            + (f" in namespace {found.namespace}" if found.namespace else " without namespace"),
            "choose a .qdpx project or a .qdc codebook exported by a QDA program",
        )
    validate(root, kind, file)
    return root


def serialise(root: Any, kind: Kind, file: str) -> bytes:
    """Validate ``root`` and return it as UTF-8 XML bytes (declaration, no BOM)."""
    from lxml import etree

    try:
        validate(root, kind, file)
    except RefiError as exc:
        # Our own output failing the schema is a bug: say so, and write nothing.
        raise RefiError(
            f"{exc.message} (nothing was written)",
            "this is a bug in qualcode; please report it with the command you ran",
        ) from exc
    # the declaration in double quotes, as the QDA programs write it themselves
    body = etree.tostring(root, encoding="UTF-8", pretty_print=True)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + body


def element(tag: str, kind: Kind, parent: Any = None, /, **attributes: str | None) -> Any:
    """A new element in the kind's namespace; attributes that are ``None`` are left out."""
    from lxml import etree

    name = f"{{{NAMESPACES[kind]}}}{tag}"
    attrs = {k: xml_text(v) for k, v in attributes.items() if v is not None}
    if parent is None:
        return etree.Element(name, attrs, nsmap={None: NAMESPACES[kind], "xsi": XSI})
    return etree.SubElement(parent, name, attrs)


def text_child(parent: Any, tag: str, kind: Kind, text: str) -> Any:
    child = element(tag, kind, parent)
    child.text = xml_text(text)
    return child


def tag(kind: Kind, name: str) -> str:
    """The qualified tag ``{namespace}name`` for ``find``/``iter``."""
    return f"{{{NAMESPACES[kind]}}}{name}"
