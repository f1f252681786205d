"""Review in the terminal: one suggestion at a time, one key per decision.

Every key that decides something is saved at once in its own transaction, so quitting (``q``,
Ctrl-C, or the end of piped input) loses nothing. ``u`` undoes the last decision of the session
and puts the rows back exactly as they were.

:class:`ReviewSession` holds the decisions and can be used without a terminal;
:func:`run_review` is the interactive loop on top of it.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import click

from qualcode.coding import Change, add_code, add_memo, check_coder, decide, find_code, undo
from qualcode.errors import QualcodeError
from qualcode.review import ReviewItem, review_items
from qualcode.store import Project

SOURCE = "review:terminal"
CONTEXT_CHARS = 200
KEYS = [
    ("a", "accept: the code fits this passage"),
    ("r", "reject: the code does not fit"),
    ("s", "skip: decide later"),
    ("o", "other code: reject this one and give the passage another code"),
    ("m", "memo: write a note on this passage"),
    ("u", "undo the last decision of this session"),
    ("q", "quit (every decision so far is saved)"),
    ("?", "this help"),
]
KEY_LINE = "[a]ccept [r]eject [s]kip [o]ther code [m]emo [u]ndo [q]uit [?]help"
# One reason in an explanation: lemma 'x' in "...snippet...", compound 'w' contains 'k' in "..."
_WORD_RE = re.compile(r"\w[\w'’-]*")
_TOKEN_RE = re.compile(r"\w[\w'’-]*|[^\w\s]")
_CONTEXT_TOKENS = 4  # words of context around a match in an explanation's snippet
_REASON_RE = re.compile(
    r"(?P<kind>lemma|phrase|compound|pattern) '(?P<evidence>.+?)'"
    r"(?: contains '(?P<keyword>.+?)')? in \"(?P<snippet>.*?)\"(?=; |$| \(\+\d+ more\))"
)


@dataclass(frozen=True)
class Step:
    """One saved decision: which item, what was done, and the rows it changed."""

    index: int
    kind: str  # 'accepted', 'rejected', 'other' or 'memo'
    changes: tuple[Change, ...]
    other: str = ""  # the code given instead ('other')


@dataclass
class ReviewSession:
    """The decisions of one review session, each saved at once and undoable."""

    project: Project
    coder: str
    items: list[ReviewItem]
    source: str = SOURCE
    history: list[Step] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.coder = check_coder(self.coder)

    def _record(self, index: int, kind: str, changes: list[Change | None], other: str = "") -> Step:
        step = Step(index, kind, tuple(c for c in changes if c is not None), other)
        self.history.append(step)
        self.counts[kind] += 1
        return step

    def _decide(self, index: int, decision: str) -> Change | None:
        item = self.items[index]
        return decide(
            self.project,
            item.segment.id,
            item.code.id,
            self.coder,
            decision,
            source=self.source,
            score=item.score,
            explanation=item.explanation,
        )

    def accept(self, index: int) -> Step:
        return self._record(index, "accepted", [self._decide(index, "accepted")])

    def reject(self, index: int) -> Step:
        return self._record(index, "rejected", [self._decide(index, "rejected")])

    def other(self, index: int, code_ref: str) -> Step:
        """Reject the suggested code and give the passage ``code_ref`` instead (one step)."""
        item = self.items[index]
        code = find_code(self.project, code_ref)
        if code.id == item.code.id:
            return self.accept(index)
        with self.project.transaction():
            rejected = self._decide(index, "rejected")
            added = add_code(self.project, item.segment, code, self.coder, source=self.source)
        return self._record(index, "other", [rejected, added], code.path)

    def memo(self, index: int, text: str) -> Step:
        _, change = add_memo(self.project, "segment", self.items[index].segment, self.coder, text)
        return self._record(index, "memo", [change])

    def undo(self) -> Step | None:
        """Undo the last step of this session; ``None`` when there is nothing to undo."""
        if not self.history:
            return None
        step = self.history.pop()
        undo(self.project, step.changes)
        self.counts[step.kind] -= 1
        self.counts["undone"] += 1
        return step


# -- showing a suggestion ------------------------------------------------------------------


def highlight_spans(text: str, explanation: str) -> list[tuple[int, int]]:
    """Where the words an explanation quotes are in ``text``, as sorted, merged spans.

    An explanation quotes its evidence with a snippet: ``lemma 'eenzaam' in "...voelen zich
    eenzaam..."``. The snippet is found in the text first, then the keyword within it (or a
    form of it); when there is no keyword to find (a pattern), the snippet without its
    context words.
    """
    spans: list[tuple[int, int]] = []
    for m in _REASON_RE.finditer(explanation):
        region = _find_snippet(text, m["snippet"])
        lo, hi = region if region else (0, len(text))
        words = list(_WORD_RE.finditer(text[lo:hi]))
        keys = [] if m["kind"] == "pattern" else m["evidence"].split()
        found = [
            (lo + words[i].start(), lo + words[i + len(keys) - 1].end())
            for i in range(len(words) - len(keys) + 1)
            if keys and all(_same_word(words[i + j].group(), k) for j, k in enumerate(keys))
        ]
        if not found and region:
            # a pattern, or an inflection too far from the keyword ('geschaamd' for
            # 'schamen'): the snippet without its context words is the match
            found = [_snippet_core(text, region, m["snippet"])]
        spans += found
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _same_word(word: str, keyword: str) -> bool:
    """The keyword is a lemma ('vereenzamen', 'oudere'); the text has an inflected form
    ('vereenzaamt', 'ouderen'): the same word when they share most of their beginning."""
    w, k = word.casefold(), keyword.casefold()
    if w == k:
        return True
    common = 0
    for a, b in zip(w, k, strict=False):
        if a != b:
            break
        common += 1
    return common >= min(len(k), max(4, len(k) - 3)) and len(w) <= len(k) + 4


def _snippet_core(text: str, region: tuple[int, int], snippet: str) -> tuple[int, int]:
    """A snippet shows four tokens of context on each side that were cut ('...'): without
    them, what is left is the match itself (tokens approximated by words and punctuation)."""
    tokens = list(_TOKEN_RE.finditer(text, region[0], region[1]))
    first = _CONTEXT_TOKENS if snippet.startswith("...") else 0
    last = len(tokens) - (_CONTEXT_TOKENS if snippet.endswith("...") else 0) - 1
    if first > last:
        return region
    return tokens[first].start(), tokens[last].end()


def _find_snippet(text: str, snippet: str) -> tuple[int, int] | None:
    variants = []
    core = snippet[3:] if snippet.startswith("...") else snippet
    variants.append(core[:-3] if core.endswith("...") else core)
    variants.append(core)
    for variant in variants:
        words = variant.split()
        if not words:
            continue
        m = re.search(r"\s+".join(re.escape(w) for w in words), text)
        if m:
            return m.span()
    return None


def highlight(text: str, explanation: str) -> str:
    """``text`` with the quoted evidence in bold yellow (plain when colours are off)."""
    out, last = [], 0
    for start, end in highlight_spans(text, explanation):
        out += [text[last:start], click.style(text[start:end], fg="yellow", bold=True)]
        last = end
    return "".join([*out, text[last:]])


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def render_item(item: ReviewItem, number: int, total: int) -> str:
    seg = item.segment
    who = f"{seg.speaker} ({seg.role})" if seg.role else seg.speaker
    score = f"{item.score:.2f}" if item.score is not None else "-"
    lines = [
        "",
        click.style(f"[{number} of {total}] ", bold=True) + f"{seg.document}  #{seg.order}  {who}",
    ]
    if item.context:
        lines.append(click.style("  before: " + _shorten(item.context, CONTEXT_CHARS), dim=True))
    lines += [
        "",
        "  " + highlight(seg.text, item.explanation).replace("\n", "\n  "),
        "",
        "  code:   " + click.style(item.code.path, fg="cyan", bold=True) + f"  ({item.code.label})",
        f"  score:  {score}",
        f"  why:    {item.explanation or '-'}",
    ]
    if item.decision:
        lines.append(f"  your earlier decision: {item.decision}")
    return "\n".join(lines)


# -- the interactive loop ------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewSummary:
    coder: str
    total: int
    counts: dict[str, int]
    skipped: int
    remaining: int  # suggestions still open for the coder afterwards


def read_key() -> str:
    """One key press; from a terminal without Enter, from piped input one character at a time
    (the end of the input counts as ``q``)."""
    if sys.stdin.isatty():
        return click.getchar()
    return sys.stdin.read(1) or "q"


def ask_line(prompt: str) -> str | None:
    """A line of text (``None`` at the end of piped input)."""
    if sys.stdin.isatty():
        try:
            return click.prompt(prompt, default="", show_default=False).strip()
        except click.Abort:
            return None
    click.echo(f"{prompt}: ", nl=False)
    line = sys.stdin.readline()
    if line in ("\n", "\r\n"):
        # piped keys come one per line ('o', then the code on the next line): the empty
        # rest of the key's own line is not the answer
        line = sys.stdin.readline()
    if not line:
        click.echo("")
        return None
    click.echo(line.strip())  # so that a piped session reads like a typed one
    return line.strip()


def _describe(step: Step) -> str:
    return f"rejected; coded as {step.other} instead" if step.kind == "other" else step.kind


def _help() -> str:
    return "\n".join(f"  {key}  {text}" for key, text in KEYS)


def run_review(
    project: Project,
    coder: str,
    *,
    code: str | None = None,
    order: str = "document",
    read: Callable[[], str] = read_key,
    ask: Callable[[str], str | None] = ask_line,
    echo: Callable[[str], None] = click.echo,
) -> ReviewSummary:
    """Review the suggestions open for ``coder`` one by one until done or ``q``."""
    session = ReviewSession(project, coder, review_items(project, coder, code=code, order=order))
    items, index, skipped, show = session.items, 0, 0, True
    if not items:
        echo(f"Nothing to review: no open suggestions for {session.coder}.")
    else:
        echo(f"{len(items)} suggestions to review for {session.coder}. Press ? for help.")
    try:
        while index < len(items):
            if show:
                echo(render_item(items[index], index + 1, len(items)))
                echo(click.style(KEY_LINE, dim=True))
            show = False
            key = read().lower()
            if key.isspace():
                continue
            if key in ("q", "\x03", "\x04"):
                break
            if key in ("a", "r"):
                step = session.accept(index) if key == "a" else session.reject(index)
                echo(click.style(f"  → {step.kind}", fg="green" if key == "a" else "red"))
                index, show = index + 1, True
            elif key == "s":
                skipped += 1
                echo("  → skipped")
                index, show = index + 1, True
            elif key == "o":
                ref = ask("  other code (path or id, empty to cancel)")
                if ref is None:
                    break
                if not ref:
                    continue
                try:
                    step = session.other(index, ref)
                except QualcodeError as exc:
                    echo(click.style(f"  {exc}", fg="red"))
                    continue
                echo(f"  → {_describe(step)}")
                index, show = index + 1, True
            elif key == "m":
                text = ask("  memo on this passage (empty to cancel)")
                if text is None:
                    break
                if text:
                    session.memo(index, text)
                    echo("  → memo saved")
            elif key == "u":
                step = session.undo()
                if step is None:
                    echo("  nothing to undo in this session")
                    continue
                echo(f"  → undone: {step.kind} (suggestion {step.index + 1})")
                index, show = step.index, True
            elif key == "?":
                echo(_help())
            else:
                echo(f"  unknown key '{key}': press ? for help")
        if items and index >= len(items):
            echo("That was the last suggestion.")
    except (KeyboardInterrupt, EOFError):
        echo("")
    remaining = len(review_items(project, session.coder, code=code))
    counts = {k: v for k, v in session.counts.items() if v}
    return ReviewSummary(session.coder, len(items), counts, skipped, remaining)
