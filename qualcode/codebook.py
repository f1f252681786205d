"""Hierarchical codebooks in YAML: loading with line numbers, validation, lookup.

The format is documented in ``docs/codebook.md``. Every problem found is reported with the
YAML line it is on; loading collects all problems before raising one
:class:`~qualcode.errors.CodebookError`.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from qualcode.errors import CodebookError

TOP_KEYS = {"name", "version", "language", "description", "codes"}
CODE_KEYS = {
    "id", "label", "definition", "include", "exclude", "keywords", "context", "patterns",
    "examples", "color", "memo", "children",
}  # fmt: skip
PATTERN_KEYS = {"id", "pattern", "effect", "description"}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*$")
COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")
# The offline Dutch pipeline sets no part-of-speech or dependency labels.
ATTRS_NEEDING_MODEL = {"POS", "TAG", "DEP", "MORPH", "ENT_TYPE", "ENT_IOB", "HEAD"}


@dataclass(frozen=True)
class Pattern:
    id: str
    pattern: list[dict[str, Any]]
    effect: str = "include"
    description: str = ""


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    path: str
    parent: str | None = None
    definition: str = ""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    # Words that place a passage near the code without showing it on their own (a service, a
    # place, a medium: 'schuldhulp', 'moskee', 'laptop'): they only count together with other
    # evidence.
    context: tuple[str, ...] = ()
    patterns: tuple[Pattern, ...] = ()
    examples: tuple[str, ...] = ()
    color: str | None = None
    memo: str = ""
    children: tuple[Code, ...] = ()
    line: int | None = None

    @property
    def depth(self) -> int:
        return self.path.count("/")

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> Iterator[Code]:
        yield self
        for child in self.children:
            yield from child.walk()

    def to_dict(self) -> dict[str, Any]:
        """The code as it would be written in YAML (without children)."""
        data: dict[str, Any] = {"id": self.id, "label": self.label}
        for key in ("definition", "memo", "color"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        for key in ("include", "exclude", "keywords", "context", "examples"):
            if getattr(self, key):
                data[key] = list(getattr(self, key))
        if self.patterns:
            data["patterns"] = [
                {
                    "id": p.id,
                    "pattern": p.pattern,
                    "effect": p.effect,
                    **({"description": p.description} if p.description else {}),
                }
                for p in self.patterns
            ]
        return data


@dataclass(frozen=True)
class Codebook:
    name: str
    codes: tuple[Code, ...]
    version: str = ""
    language: str = "nl"
    description: str = ""
    file: str | None = None
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # set by load_codebook: the file's text and spaCy's version, whose patterns spaCy accepted
    patterns_digest: str | None = field(default=None, compare=False)

    def walk(self) -> Iterator[Code]:
        for code in self.codes:
            yield from code.walk()

    def __iter__(self) -> Iterator[Code]:
        return self.walk()

    @property
    def by_path(self) -> dict[str, Code]:
        return {c.path: c for c in self.walk()}

    def find(self, ref: str) -> Code:
        """A code by full path (``impact/sociaal``), unique id (``sociaal``) or path suffix."""
        ref = ref.strip().strip("/")
        by_path = self.by_path
        if ref in by_path:
            return by_path[ref]
        hits = [c for c in self.walk() if c.id == ref or c.path.endswith("/" + ref)]
        if len(hits) == 1:
            return hits[0]
        from qualcode.errors import QualcodeError

        if hits:
            raise QualcodeError(
                f"code '{ref}' is ambiguous",
                "use the full path: " + ", ".join(h.path for h in hits),
            )
        raise QualcodeError(
            f"no code '{ref}' in the codebook", "see the codes with 'qualcode codebook show'"
        )

    def subtree(self, refs: list[str] | tuple[str, ...]) -> set[str]:
        """Paths of the given codes and all their descendants."""
        return {c.path for ref in refs for c in self.find(ref).walk()}


# -- loading ---------------------------------------------------------------------------------


class _Problems:
    def __init__(self, *, check_patterns: bool = True) -> None:
        self.items: list[tuple[int | None, str]] = []
        self.warnings: list[str] = []
        self.check_patterns = check_patterns

    def add(self, node: Any, message: str) -> None:
        # a key or value quoted in the message may hold a line break: show it escaped, so the
        # message stays one line
        self.items.append((_line(node), message.translate(_LINE_BREAKS)))


_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def _line(node: Any) -> int | None:
    mark = getattr(node, "start_mark", None)
    return mark.line + 1 if mark is not None else None


def _loader() -> Any:
    """libyaml's loader when PyYAML was built with it: composing the default codebook takes
    0.05 s instead of 0.6 s. Nodes keep their line numbers either way."""
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _plain(node: Any) -> Any:
    """A yaml node as plain Python (strings, numbers, lists, dicts)."""
    import yaml

    # constructed straight from the node: serialising it to text and parsing that again took
    # most of the time of loading a codebook with many patterns
    return yaml.SafeLoader("").construct_document(node)


def _text(node: Any, key: str, problems: _Problems, required: bool = False) -> str:
    import yaml

    if node is None:
        if required:
            problems.items.append((None, f"'{key}' is missing"))
        return ""
    if not isinstance(node, yaml.ScalarNode):
        problems.add(node, f"'{key}' must be text")
        return ""
    value = str(node.value).strip()
    if required and not value:
        problems.add(node, f"'{key}' is empty")
    return value


def _texts(node: Any, key: str, problems: _Problems) -> tuple[str, ...]:
    import yaml

    if node is None:
        return ()
    if isinstance(node, yaml.ScalarNode) and node.value.strip():
        return (node.value.strip(),)
    if not isinstance(node, yaml.SequenceNode):
        problems.add(node, f"'{key}' must be a list")
        return ()
    out = []
    for item in node.value:
        if not isinstance(item, yaml.ScalarNode) or not str(item.value).strip():
            problems.add(item, f"every entry of '{key}' must be non-empty text")
            continue
        out.append(str(item.value).strip())
    return tuple(out)


def _mapping(node: Any, problems: _Problems) -> dict[str, tuple[Any, Any]]:
    """key → (key node, value node) of a mapping node. A repeated key is a problem: YAML would
    silently keep only the last one (half of a codebook's keywords lost)."""
    out: dict[str, tuple[Any, Any]] = {}
    for k, v in node.value:
        key = str(k.value)
        if key in out:
            problems.add(k, f"duplicate key '{key}' (first used on line {_line(out[key][0])})")
        out[key] = (k, v)
    return out


def _patterns(node: Any, code_path: str, problems: _Problems) -> tuple[Pattern, ...]:
    import yaml

    if node is None:
        return ()
    if not isinstance(node, yaml.SequenceNode):
        problems.add(node, f"'patterns' of {code_path} must be a list")
        return ()
    out = []
    for n, item in enumerate(node.value, start=1):
        if not isinstance(item, yaml.MappingNode):
            problems.add(item, f"pattern {n} of {code_path} must be a mapping with 'pattern'")
            continue
        fields = _mapping(item, problems)
        for key, (knode, _) in fields.items():
            if key not in PATTERN_KEYS:
                problems.add(
                    knode,
                    f"unknown key '{key}' in pattern {n} of {code_path}"
                    f" (allowed: {', '.join(sorted(PATTERN_KEYS))})",
                )
        pid = _text(fields.get("id", (None, None))[1], "id", problems) or f"{code_path}#{n}"
        effect = _text(fields.get("effect", (None, None))[1], "effect", problems) or "include"
        if effect not in {"include", "exclude"}:
            problems.add(fields["effect"][1], f"'effect' must be include or exclude, not {effect}")
        pattern_node = fields.get("pattern", (None, None))[1]
        if pattern_node is None:
            problems.add(item, f"pattern {n} of {code_path} has no 'pattern'")
            continue
        spec = _plain(pattern_node)
        if not isinstance(spec, list) or not spec or not all(isinstance(t, dict) for t in spec):
            problems.add(pattern_node, f"pattern '{pid}' must be a list of token specs")
            continue
        desc = _text(fields.get("description", (None, None))[1], "description", problems)
        out.append(Pattern(pid, spec, effect, desc))
        _check_pattern(out[-1], pattern_node, problems)
    return tuple(out)


@lru_cache(maxsize=1)
def _shared_vocab() -> Any:
    from qualcode.nlp import import_spacy

    import_spacy()
    from spacy.vocab import Vocab

    return Vocab()


def _check_pattern(pattern: Pattern, node: Any, problems: _Problems) -> None:
    used = {k.upper() for token in pattern.pattern for k in token}
    needing = sorted(used & ATTRS_NEEDING_MODEL)
    if needing:
        problems.warnings.append(
            f"line {_line(node)}: pattern '{pattern.id}' uses {', '.join(needing)}, which only "
            "works when a trained spaCy model such as nl_core_news_sm is installed"
        )
    if not problems.check_patterns:
        return
    try:
        vocab = _shared_vocab()  # first: it imports spaCy the fast way
        from spacy.matcher import Matcher

        Matcher(vocab, validate=True).add(pattern.id, [pattern.pattern])
    except Exception as exc:  # spaCy raises ValueError/MatchPatternError with a long text
        message = " ".join(str(exc).split())
        problems.add(node, f"spaCy rejects pattern '{pattern.id}': {message[:300]}")


def _code(
    node: Any, parent: str | None, problems: _Problems, seen: dict[str, int | None]
) -> Code | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        problems.add(node, "a code must be a mapping with at least 'id' and 'label'")
        return None
    fields = _mapping(node, problems)
    for key, (knode, _) in fields.items():
        if key not in CODE_KEYS:
            problems.add(knode, f"unknown key '{key}' (allowed: {', '.join(sorted(CODE_KEYS))})")
    id_node = fields.get("id", (None, None))[1]
    code_id = _text(id_node, "id", problems)
    if id_node is None:
        problems.add(node, "code without 'id'")
        code_id = code_id or f"?{_line(node)}"
    elif not ID_RE.match(code_id):
        problems.add(id_node, f"id '{code_id}' must be lowercase letters, digits and _")
    elif code_id in seen:
        problems.add(id_node, f"duplicate id '{code_id}' (first used on line {seen[code_id]})")
    else:
        seen[code_id] = _line(id_node)
    path = f"{parent}/{code_id}" if parent else code_id
    label_node = fields.get("label", (None, None))[1]
    if label_node is None:
        problems.add(node, f"code '{code_id}' has no 'label'")
    label = _text(label_node, "label", problems, required=label_node is not None)
    color = _text(fields.get("color", (None, None))[1], "color", problems) or None
    if color and not COLOR_RE.match(color):
        problems.add(fields["color"][1], f"color '{color}' must look like #1f77b4")
    children_node = fields.get("children", (None, None))[1]
    children: list[Code] = []
    if children_node is not None:
        if not isinstance(children_node, yaml.SequenceNode):
            problems.add(children_node, f"'children' of {path} must be a list of codes")
        else:
            for child_node in children_node.value:
                child = _code(child_node, path, problems, seen)
                if child is not None:
                    children.append(child)
    get = lambda key: fields.get(key, (None, None))[1]  # noqa: E731
    return Code(
        id=code_id,
        label=label,
        path=path,
        parent=parent,
        definition=_text(get("definition"), "definition", problems),
        include=_texts(get("include"), "include", problems),
        exclude=_texts(get("exclude"), "exclude", problems),
        keywords=_texts(get("keywords"), "keywords", problems),
        context=_texts(get("context"), "context", problems),
        patterns=_patterns(get("patterns"), path, problems),
        examples=_texts(get("examples"), "examples", problems),
        color=color,
        memo=_text(get("memo"), "memo", problems),
        children=tuple(children),
        line=_line(node),
    )


def parse_codebook(text: str, file: str = "<codebook>", *, check_patterns: bool = True) -> Codebook:
    """Parse and validate codebook YAML text. Raises CodebookError listing every problem.

    ``check_patterns=False`` skips spaCy's check of the token patterns (and with it the import
    of spaCy): for a text whose patterns spaCy accepted before (:func:`patterns_digest`)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        if isinstance(exc, yaml.reader.ReaderError) and isinstance(exc.character, str):
            # a control character (pasted from Word or a PDF); its str() spans two lines
            line = text.count("\n", 0, exc.position) + 1
            problem = f"character U+{ord(exc.character):04X} is not allowed"
        raise CodebookError(
            file,
            [(line, f"not valid YAML: {' '.join(str(problem).split())}")],
            hint="check the indentation and quotes around that line",
        ) from exc
    problems = _Problems(check_patterns=check_patterns)
    if root is None:
        raise CodebookError(file, [(None, "the codebook is empty")])
    if not isinstance(root, yaml.MappingNode):
        raise CodebookError(
            file, [(_line(root), "the codebook must start with 'name:' and 'codes:' (a mapping)")]
        )
    fields = _mapping(root, problems)
    for key, (knode, _) in fields.items():
        if key not in TOP_KEYS:
            problems.add(
                knode, f"unknown top-level key '{key}' (allowed: {', '.join(sorted(TOP_KEYS))})"
            )
    name = _text(fields.get("name", (None, None))[1], "name", problems) or Path(file).stem
    codes_node = fields.get("codes", (None, None))[1]
    codes: list[Code] = []
    seen: dict[str, int | None] = {}
    if codes_node is None:
        problems.add(root, "no 'codes:' list")
    elif not isinstance(codes_node, yaml.SequenceNode) or not codes_node.value:
        problems.add(codes_node, "'codes' must be a non-empty list of codes")
    else:
        for node in codes_node.value:
            code = _code(node, None, problems, seen)
            if code is not None:
                codes.append(code)
    if problems.items:
        problems.items.sort(key=lambda p: p[0] or 0)
        raise CodebookError(
            file, problems.items, hint="run 'qualcode codebook validate' to see every problem"
        )
    get = lambda key: fields.get(key, (None, None))[1]  # noqa: E731
    return Codebook(
        name=name,
        codes=tuple(codes),
        version=_text(get("version"), "version", problems),
        language=_text(get("language"), "language", problems) or "nl",
        description=_text(get("description"), "description", problems),
        file=file,
        warnings=tuple(problems.warnings),
    )


def patterns_digest(text: str) -> str:
    """Identifies a codebook text together with the spaCy version that checked its patterns."""
    import hashlib
    from importlib.metadata import version

    return hashlib.sha256(f"{version('spacy')}\n{text}".encode()).hexdigest()


def load_codebook(path: str | Path, *, checked: Container[str] = ()) -> Codebook:
    """Read and validate a codebook file. If its :func:`patterns_digest` is in ``checked``,
    spaCy is not asked about its patterns again (the codebook's ``patterns_digest`` tells a
    caller what to remember)."""
    file = Path(path)
    if not file.exists():
        raise CodebookError(file, [(None, "codebook file not found")])
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        line = file.read_bytes().count(b"\n", 0, exc.start) + 1
        raise CodebookError(
            file, [(line, "not UTF-8 text")], hint="save the codebook as UTF-8"
        ) from exc
    digest = patterns_digest(text)
    book = parse_codebook(text, str(file), check_patterns=digest not in checked)
    return replace(book, patterns_digest=digest)


def validate_codebook(path: str | Path) -> tuple[list[tuple[int | None, str]], list[str]]:
    """(problems, warnings) without raising: what ``qualcode codebook validate`` prints."""
    try:
        book = load_codebook(path)
    except CodebookError as exc:
        return exc.problems, []
    return [], list(book.warnings)


def codebook_stats(book: Codebook) -> dict[str, int]:
    codes = list(book.walk())
    return {
        "codes": len(codes),
        "leaves": sum(c.is_leaf for c in codes),
        "keywords": sum(len(c.keywords) for c in codes),
        "context": sum(len(c.context) for c in codes),
        "patterns": sum(len(c.patterns) for c in codes),
        "examples": sum(len(c.examples) for c in codes),
    }


# -- writing a code into the file ------------------------------------------------------------


def _code_node(root: Any, parent: str) -> Any:
    """The YAML mapping node of the code at path ``parent``, or None."""
    import yaml

    nodes = dict((k.value, v) for k, v in root.value).get("codes")
    node = None
    for part in parent.split("/"):
        if not isinstance(nodes, yaml.SequenceNode):
            return None
        node = next(
            (
                n
                for n in nodes.value
                if isinstance(n, yaml.MappingNode)
                and any(k.value == "id" and v.value == part for k, v in n.value)
            ),
            None,
        )
        if node is None:
            return None
        nodes = dict((k.value, v) for k, v in node.value).get("children")
    return node


def _block_end(lines: list[str], first: int, indent: int) -> int:
    """Index of the last line of the block that starts on line ``first``: the lines after it
    that are blank or indented at least ``indent`` (trailing blank lines not included)."""
    last = first
    for n in range(first + 1, len(lines)):
        stripped = lines[n].strip()
        if not stripped:
            continue
        if len(lines[n]) - len(lines[n].lstrip(" ")) < indent:
            break
        last = n
    return last


def code_yaml(code: Code, indent: int, width: int = 100) -> str:
    """``code`` as one YAML list item (``- id: ...``), indented by ``indent`` spaces, in the
    layout of the shipped codebooks: lists indented under their key, lines up to ``width``."""
    import io

    from ruamel.yaml import YAML

    writer = YAML()
    writer.indent(mapping=2, sequence=4, offset=2)
    writer.width = max(40, width - indent - 2)
    buffer = io.StringIO()
    writer.dump(code.to_dict(), buffer)
    # trailing spaces where a long text is wrapped mean nothing in YAML: drop them
    lines = [line.rstrip() for line in buffer.getvalue().splitlines()]
    item = ["- " + lines[0]] + ["  " + line if line else line for line in lines[1:]]
    return "".join((" " * indent + line if line else line) + "\n" for line in item)


def add_code_to_file(path: str | Path, parent: str, code: Code) -> Path:
    """Write ``code`` into the codebook file as the last child of ``parent``.

    Only lines are inserted: every other byte of the file (comments, order, line breaks inside
    long texts) stays as it was. A round-trip YAML dump would keep comments and order too, but
    re-wraps every long text. A copy ``<file>.bak`` is made first; the new text is validated
    with :func:`load_codebook` before it replaces the file. Returns the backup's path.
    """
    import shutil

    import yaml

    file = Path(path)
    raw = file.read_bytes()
    bom = raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = re.findall(r"[^\n]*\n|[^\n]+$", text.replace("\r\n", "\n"))
    node = _code_node(yaml.compose(text, Loader=yaml.SafeLoader), parent)
    if node is None:
        raise CodebookError(
            file,
            [(None, f"parent code {parent} is not written in this file")],
            hint="add the code by hand, or promote it under a code that is in the file",
        )
    fields = {k.value: v for k, v in node.value}
    children = fields.get("children")
    if isinstance(children, yaml.SequenceNode) and children.value and not children.flow_style:
        last = children.value[-1]
        line = lines[last.start_mark.line]
        dash = line.rfind("-", 0, last.start_mark.column)
        after = _block_end(lines, last.start_mark.line, last.start_mark.column)
        block = code_yaml(code, dash)
    elif children is None:
        key = node.start_mark.column
        after = _block_end(lines, node.start_mark.line, key)
        block = " " * key + "children:\n" + code_yaml(code, key + 2)
    else:
        raise CodebookError(
            file,
            [(_line(children), f"'children' of {parent} is not a list that can be extended")],
            hint="write it as a list of '- id: ...' items, or add the code by hand",
        )
    if not lines[after].endswith("\n"):
        lines[after] += "\n"
    new_text = "".join([*lines[: after + 1], block, *lines[after + 1 :]])
    backup = file.with_name(file.name + ".bak")
    shutil.copy2(file, backup)
    tmp = file.with_name(file.name + ".tmp")
    tmp.write_bytes((b"\xef\xbb\xbf" if bom else b"") + new_text.replace("\n", newline).encode())
    try:
        written = load_codebook(tmp)
        if code.path not in written.by_path:
            raise CodebookError(file, [(None, f"{code.path} was not written where expected")])
    except CodebookError:
        tmp.unlink()
        raise
    tmp.replace(file)
    return backup
