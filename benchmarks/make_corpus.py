"""Generate a large Dutch transcript corpus by recombining the sample corpus in ``corpus/``.

Every generated transcript starts from one source transcript of the same kind (focus group or
interview): its sequence of speakers and the number of paragraphs per turn. Each participant
paragraph keeps about two thirds of the source's sentences (in a slightly shuffled order) and
takes the rest from other participants' turns in any transcript of that kind; moderator and
interviewer turns are questions taken from any transcript of that kind. Speaker labels, label
style (``Deelnemer 3``, ``Spreker 2``, ``R``, first names), timestamps, place, organisation,
date and roles are drawn from lists, and city names in the text are swapped for the new place.
Long transcripts continue with turns of a second source. The field notes (prose, no speakers)
are not used.

Files are ``Label: text`` per turn (``.txt``, every ``--docx-every``-th one ``.docx``) plus a
``metadata.csv`` with one row per document and one per speaker (roles, interviewer = ja). The
same ``--seed`` gives the same corpus. Words are counted the way qualcode counts them
(``qualcode.text.count_words``), so ``--words 1000000`` is a million words of spoken text.

    python benchmarks/make_corpus.py outputs/bench/corpus-1m --words 1000000
    python benchmarks/make_corpus.py /tmp/c100 --documents 100
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qualcode.ingest import read_transcript  # noqa: E402
from qualcode.ingest.metadata import load_metadata  # noqa: E402
from qualcode.text import count_words  # noqa: E402

SOURCE = ROOT / "corpus"
KINDS = {"focusgroep": "fg", "interview": "int"}
# A finished corpus folder holds this file (dot: qualcode's ingest skips it) with its parameters.
MARKER = ".make_corpus.json"
KEEP_SENTENCE = 0.65
SWAP_NEIGHBOURS = 0.3

PLACES = [
    "Alkmaar", "Almere", "Amersfoort", "Amsterdam", "Apeldoorn", "Arnhem", "Assen", "Breda",
    "Delft", "Den Bosch", "Den Haag", "Deventer", "Dordrecht", "Ede", "Eindhoven", "Emmen",
    "Enschede", "Gouda", "Groningen", "Haarlem", "Heerlen", "Helmond", "Hengelo", "Hilversum",
    "Hoorn", "Leeuwarden", "Leiden", "Lelystad", "Maastricht", "Nijmegen", "Oss", "Purmerend",
    "Roermond", "Rotterdam", "Schiedam", "Sittard", "Tilburg", "Utrecht", "Venlo", "Vlaardingen",
    "Zaandam", "Zoetermeer", "Zutphen", "Zwolle",
]  # fmt: skip
ORGANISATIONS = [
    "welzijnsorganisatie", "wijkteam", "gemeente", "GGD", "huisartsenpraktijk",
    "maatschappelijke opvang", "centrum voor levensvragen", "jeugdzorg", "schuldhulpverlening",
    "vrijwilligerscentrale", "woningcorporatie", "buurthuis", "mantelzorgsteunpunt",
]  # fmt: skip
FIRST_NAMES = [
    "Anouk", "Bram", "Carla", "Daan", "Esra", "Fenna", "Gert", "Hanneke", "Ilias", "Joke",
    "Karim", "Lotte", "Mehmet", "Nadia", "Omar", "Petra", "Ruud", "Saskia", "Thijs", "Ursula",
    "Vera", "Wim", "Yara", "Zeynep", "Henk", "Marieke", "Samira", "Kees", "Priya", "Dennis",
]  # fmt: skip
SURNAMES = [
    "de Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "Bos",
    "Vos", "Peters", "Hendriks", "van Dijk", "Dekker", "Brouwer", "El Amrani", "Yilmaz",
    "Ramdin", "Hoekstra", "van den Berg", "Kok", "Verhoeven", "Willems", "Schouten",
]  # fmt: skip
# (interviewer label, participant labels given the participant number) per label style
FOCUS_STYLES = ("deelnemer", "spreker", "r", "names")
INTERVIEW_STYLES = ("ir", "interviewer-respondent", "names")
TIMESTAMP_STYLES = ("none", "leading", "trailing")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[A-Z‘'\"(\[])")


@dataclass(frozen=True)
class SourceTurn:
    speaker: str
    interviewer: bool
    paragraphs: tuple[tuple[str, ...], ...]  # sentences per paragraph


@dataclass(frozen=True)
class Source:
    name: str
    kind: str
    place: str
    turns: tuple[SourceTurn, ...]
    roles: tuple[str, ...]  # the participants' roles


@dataclass
class Pools:
    """Per kind: questions (interviewer paragraphs) and participant sentences."""

    questions: dict[str, list[str]]
    sentences: dict[str, list[str]]


def sentences(paragraph: str) -> tuple[str, ...]:
    return tuple(s for s in _SENTENCE_END.split(paragraph) if s.strip())


def load_sources(folder: Path = SOURCE) -> list[Source]:
    """The focus groups and interviews of the sample corpus, read with qualcode's readers."""
    meta = load_metadata(folder / "metadata.csv")
    out = []
    for key, attrs in sorted(meta.documents.items()):
        kind = attrs.get("type", "")
        if kind not in KINDS:
            continue
        path = next(p for p in folder.iterdir() if p.stem.casefold() == key)
        speakers = meta.speakers_of(path.name)
        transcript = read_transcript(path, known_speakers=[s.label for s in speakers.values()])
        interviewers = {k for k, s in speakers.items() if s.interviewer}
        turns = tuple(
            SourceTurn(
                t.speaker,
                " ".join(t.speaker.split()).casefold() in interviewers,
                tuple(sentences(p) for p in t.paragraphs),
            )
            for t in transcript.turns
        )
        roles = tuple(s.role or "deelnemer" for k, s in speakers.items() if k not in interviewers)
        out.append(Source(path.name, kind, attrs.get("place", ""), turns, roles))
    return out


def build_pools(sources: list[Source]) -> Pools:
    pools = Pools({k: [] for k in KINDS}, {k: [] for k in KINDS})
    for source in sources:
        for turn in source.turns:
            if turn.interviewer:
                pools.questions[source.kind].extend(" ".join(p) for p in turn.paragraphs)
            else:
                pools.sentences[source.kind].extend(s for p in turn.paragraphs for s in p)
    return pools


@dataclass(frozen=True)
class CorpusInfo:
    folder: Path
    documents: int
    words: int
    docx: int
    seed: int

    def to_dict(self) -> dict[str, object]:
        return {
            "documents": self.documents,
            "words": self.words,
            "docx": self.docx,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Turn:
    label: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class Generated:
    name: str
    kind: str
    turns: tuple[Turn, ...]
    interviewer: str
    roles: dict[str, str]  # participant label -> role
    attributes: dict[str, str]
    timestamps: str
    words: int


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "", text.lower())[:24] or "x"


def _labels(rng: random.Random, kind: str, participants: int) -> tuple[str, list[str]]:
    """The interviewer's label and one label per participant, in one style."""
    if kind == "interview":
        style = rng.choice(INTERVIEW_STYLES)
        if style == "ir":
            return "I", ["R"]
        if style == "interviewer-respondent":
            return "Interviewer", ["Respondent"]
        return "Interviewer", [f"{rng.choice(FIRST_NAMES)} {rng.choice(SURNAMES)}"]
    style = rng.choice(FOCUS_STYLES)
    if style == "deelnemer":
        return "Moderator", [f"Deelnemer {n}" for n in range(1, participants + 1)]
    if style == "spreker":
        return "Spreker 1", [f"Spreker {n}" for n in range(2, participants + 2)]
    if style == "r":
        return "Moderator", [f"R{n}" for n in range(1, participants + 1)]
    names = rng.sample(FIRST_NAMES, participants + 1)
    return f"{names[0]} {rng.choice(SURNAMES)}", names[1:]


def _turn_plan(
    rng: random.Random, base: Source, others: list[Source]
) -> list[tuple[SourceTurn, int]]:
    """Source turns with the participant (index, -1 = interviewer) who says them: the base
    transcript, cut shorter or continued with the turns of another one of the same kind."""
    order = list(dict.fromkeys(t.speaker for t in base.turns if not t.interviewer))
    plan = [(t, -1 if t.interviewer else order.index(t.speaker)) for t in base.turns]
    target = max(8, round(len(plan) * rng.uniform(0.6, 1.4)))
    if target <= len(plan):
        return plan[:target]
    extra = rng.choice(others)
    extra_order = list(dict.fromkeys(t.speaker for t in extra.turns if not t.interviewer))
    skip = len(extra_order) + 1  # the round of introductions
    for turn in extra.turns[skip:]:
        if len(plan) >= target:
            break
        who = -1 if turn.interviewer else extra_order.index(turn.speaker) % len(order)
        plan.append((turn, who))
    return plan


def _mix(rng: random.Random, paragraph: tuple[str, ...], pool: list[str]) -> str:
    chosen = [s if rng.random() < KEEP_SENTENCE else rng.choice(pool) for s in paragraph]
    for i in range(len(chosen) - 1):
        if rng.random() < SWAP_NEIGHBOURS:
            chosen[i], chosen[i + 1] = chosen[i + 1], chosen[i]
    return " ".join(chosen)


# City names in the source text become the generated transcript's place.
_CITIES = re.compile(r"\b(?:" + "|".join(re.escape(p) for p in PLACES) + r")\b")


def generate_document(
    rng: random.Random, number: int, kind: str, sources: list[Source], pools: Pools
) -> Generated:
    of_kind = [s for s in sources if s.kind == kind]
    base = rng.choice(of_kind)
    others = [s for s in of_kind if s is not base] or of_kind
    plan = _turn_plan(rng, base, others)
    participants = len({who for _, who in plan if who >= 0}) or 1
    interviewer, labels = _labels(rng, kind, participants)
    place = rng.choice(PLACES)
    turns, words = [], 0
    for source_turn, who in plan:
        if who < 0:
            paragraphs = tuple(rng.choice(pools.questions[kind]) for _ in source_turn.paragraphs)
        else:
            pool = pools.sentences[kind]
            paragraphs = tuple(_mix(rng, p, pool) for p in source_turn.paragraphs if p)
        paragraphs = tuple(_CITIES.sub(place, p) for p in paragraphs if p.strip())
        if not paragraphs:
            continue
        label = interviewer if who < 0 else labels[who % len(labels)]
        turns.append(Turn(label, paragraphs))
        words += sum(count_words(p) for p in paragraphs)
    roles_pool = [r for s in of_kind for r in s.roles]
    # only speakers who speak: qualcode rejects metadata naming a speaker the file lacks
    spoken = {t.label for t in turns}
    roles = {label: rng.choice(roles_pool) for label in labels if label in spoken}
    first_role = next(iter(roles.values()), "deelnemer")
    prefix = KINDS[kind]
    day = rng.randrange(0, 830)  # 2020-03-16 .. mid 2022
    year, rest = divmod(day + 75, 365)
    month, dom = min(12, rest // 30 + 1), rest % 28 + 1
    attributes = {
        "type": kind,
        "date": f"{2020 + year}-{month:02d}-{dom:02d}",
        "place": place,
        "organisation": rng.choice(ORGANISATIONS),
        "group": f"{'focusgroep' if kind == 'focusgroep' else 'interview'} {number}",
    }
    name = f"{prefix}{number:04d}_{_slug(first_role)}_{_slug(place)}"
    return Generated(
        name,
        kind,
        tuple(turns),
        interviewer,
        roles,
        attributes,
        rng.choice(TIMESTAMP_STYLES),
        words,
    )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def paragraphs_of(doc: Generated) -> list[str]:
    """The file's paragraphs: the label (and a timestamp, in the document's style) before the
    first paragraph of each turn; further paragraphs of a turn have no label."""
    out: list[str] = []
    seconds = 3.0
    for turn in doc.turns:
        first, *rest = turn.paragraphs
        stamp = _clock(seconds)
        if doc.timestamps == "leading":
            first = f"[{stamp}] {turn.label}: {first}"
        elif doc.timestamps == "trailing":
            first = f"{turn.label}: {first} #{stamp}-{int(seconds * 10) % 10}#"
        else:
            first = f"{turn.label}: {first}"
        out.append(first)
        out.extend(rest)
        seconds += sum(len(p.split()) for p in turn.paragraphs) / 2.5 + 2
    return out


def write_document(doc: Generated, folder: Path, as_docx: bool) -> Path:
    paragraphs = paragraphs_of(doc)
    if as_docx:
        import docx

        path = folder / f"{doc.name}.docx"
        word = docx.Document()
        for paragraph in paragraphs:
            word.add_paragraph(paragraph)
        word.save(str(path))
        return path
    path = folder / f"{doc.name}.txt"
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def metadata_rows(doc: Generated, file_name: str) -> list[dict[str, str]]:
    rows = [{"document": file_name, **doc.attributes}]
    rows.append({"document": file_name, "speaker": doc.interviewer, "interviewer": "ja"})
    role = "moderator" if doc.kind == "focusgroep" else "interviewer"
    rows[-1]["role"] = role
    for label, participant_role in doc.roles.items():
        rows.append({"document": file_name, "speaker": label, "role": participant_role})
    return rows


METADATA_COLUMNS = [
    "document", "speaker", "role", "interviewer", "type", "date", "place", "organisation",
    "group",
]  # fmt: skip


def write_metadata(rows: list[dict[str, str]], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=METADATA_COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)


def generate(
    folder: str | Path,
    *,
    words: int | None = None,
    documents: int | None = None,
    seed: int = 7,
    docx_every: int = 10,
    interview_share: float = 0.4,
) -> CorpusInfo:
    """Write a corpus of at least ``words`` words (or exactly ``documents`` transcripts) and
    its ``metadata.csv`` into ``folder`` (emptied first)."""
    if (words is None) == (documents is None):
        raise ValueError("give words or documents")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    for old in target.iterdir():
        if old.is_file():
            old.unlink()
    rng = random.Random(seed)
    sources = load_sources()
    pools = build_pools(sources)
    rows: list[dict[str, str]] = []
    total = docx = number = 0
    while (documents is not None and number < documents) or (words is not None and total < words):
        number += 1
        kind = "interview" if rng.random() < interview_share else "focusgroep"
        doc = generate_document(rng, number, kind, sources, pools)
        as_docx = docx_every > 0 and number % docx_every == 0
        path = write_document(doc, target, as_docx)
        docx += as_docx
        total += doc.words
        rows.extend(metadata_rows(doc, path.name))
    write_metadata(rows, target / "metadata.csv")
    info = CorpusInfo(target, number, total, docx, seed)
    asked = {"words": words, "documents": documents, "seed": seed, "docx_every": docx_every}
    marker = {"asked": asked, **info.to_dict()}
    (target / MARKER).write_text(json.dumps(marker), encoding="utf-8")
    return info


def existing(
    folder: str | Path, *, words: int | None = None, documents: int | None = None, seed: int = 7
) -> CorpusInfo | None:
    """The corpus already in ``folder`` if it was generated with these parameters."""
    marker = Path(folder) / MARKER
    if not marker.exists():
        return None
    data = json.loads(marker.read_text(encoding="utf-8"))
    asked = data.get("asked", {})
    if (asked.get("words"), asked.get("documents"), asked.get("seed")) != (words, documents, seed):
        return None
    return CorpusInfo(Path(folder), data["documents"], data["words"], data["docx"], seed)


def ensure(
    folder: str | Path, *, words: int | None = None, documents: int | None = None, seed: int = 7
) -> CorpusInfo:
    """Reuse the corpus in ``folder`` when it matches, else generate it."""
    found = existing(folder, words=words, documents=documents, seed=seed)
    return found or generate(folder, words=words, documents=documents, seed=seed)


def verify(info: CorpusInfo) -> list[str]:
    """Problems found by reading every file back with qualcode's readers (empty = none)."""
    meta = load_metadata(info.folder / "metadata.csv")
    problems = []
    total = 0
    for path in sorted(info.folder.iterdir()):
        if path.suffix not in (".txt", ".docx"):
            continue
        known = [s.label for s in meta.speakers_of(path.name).values()]
        transcript = read_transcript(path, known_speakers=known)
        speakers = {t.speaker for t in transcript.turns}
        unknown = speakers - set(known)
        if unknown:
            problems.append(f"{path.name}: unexpected speakers {sorted(unknown)}")
        silent = set(known) - speakers
        if silent:
            problems.append(f"{path.name}: metadata names speakers who never speak {silent}")
        total += sum(count_words(p) for t in transcript.turns for p in t.paragraphs)
    if total != info.words:
        problems.append(f"read back {total} words, generated {info.words}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    size = parser.add_mutually_exclusive_group(required=True)
    size.add_argument("--words", type=int, help="at least this many spoken words")
    size.add_argument("--documents", type=int, help="exactly this many transcripts")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--docx-every", type=int, default=10, help="every n-th file is .docx")
    parser.add_argument("--verify", action="store_true", help="read every file back")
    args = parser.parse_args()
    info = generate(
        args.folder,
        words=args.words,
        documents=args.documents,
        seed=args.seed,
        docx_every=args.docx_every,
    )
    print(
        f"{info.folder}: {info.documents} transcripts ({info.docx} .docx), {info.words} words, "
        f"seed {info.seed}"
    )
    if args.verify:
        problems = verify(info)
        print("\n".join(problems) if problems else "read back: every file as generated")
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
