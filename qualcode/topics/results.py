"""What a topics run found, as the library returns it and the CLI prints it."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

# A topic whose centre is less similar than this (cosine) to every code's definition, examples
# and keywords is reported as a new theme ("nieuw thema"). Measured in the LSA space on the
# sample corpus: topics that clearly match a code score 0.47 to 0.74 with it, a topic of
# introductions ("ik ben ..., ik woon in ...") 0.41 and one of back-and-forth remarks 0.27.
NEW_THEME_BELOW = 0.45
NEW_THEME = "nieuw thema"
# Representative passages shown and stored per topic, and how long a shown passage may be.
REPRESENTATIVES = 3
SNIPPET_CHARS = 160
# A topic holding more than this share of the passages that got a topic is "one giant topic".
GIANT_SHARE = 0.5


@dataclass(frozen=True)
class Passage:
    """A passage in a topic, with where it comes from."""

    key: str  # document#order of its segment
    document: str
    speaker: str
    role: str | None
    text: str
    probability: float
    sentence: int = 0  # 0: the whole segment; n: its n-th sentence

    @property
    def snippet(self) -> str:
        return textwrap.shorten(self.text, SNIPPET_CHARS, placeholder=" …")

    @property
    def who(self) -> str:
        return f"{self.speaker} ({self.role})" if self.role else self.speaker


@dataclass(frozen=True)
class TopicWord:
    word: str  # a lemma or a two-word phrase of lemmas
    weight: float  # c-TF-IDF weight in the topic
    share: float  # of the passages that contain the word, the share in this topic


@dataclass(frozen=True)
class Topic:
    number: int
    label: str
    words: tuple[TopicWord, ...]
    size: int
    representatives: tuple[Passage, ...]
    documents: tuple[tuple[str, int], ...]  # (document, passages), most first
    speakers: tuple[tuple[str, int], ...]  # ("<document stem>: <speaker> (<role>)", passages)
    nearest_code: str | None
    similarity: float | None
    promoted_code: str | None = None

    @property
    def is_new(self) -> bool:
        return self.similarity is None or self.similarity < NEW_THEME_BELOW

    @property
    def nearest(self) -> str:
        """'impact/sociaal/eenzaamheid (0.52)' or 'nieuw thema (nearest: ..., 0.21)'."""
        if self.nearest_code is None or self.similarity is None:
            return NEW_THEME
        near = f"{self.nearest_code} ({self.similarity:.2f})"
        return f"{NEW_THEME} (nearest: {near})" if self.is_new else near


def speaker_name(document: str, speaker: str, role: str | None) -> str:
    who = f"{speaker} ({role})" if role else speaker
    return f"{Path(document).stem}: {who}"


@dataclass
class TopicsResult:
    run_id: int
    finished_at: str
    unit: str
    passages: int  # passages the model was fitted on
    too_short: int  # passages left out: too few content words
    outliers: int  # passages that fit no topic (HDBSCAN's -1)
    topics: list[Topic]
    params: dict[str, int]
    embedding: str
    seconds: dict[str, float]
    codebook: str | None
    warnings: list[str] = field(default_factory=list)

    def topic(self, number: int) -> Topic:
        from qualcode.errors import QualcodeError

        for topic in self.topics:
            if topic.number == number:
                return topic
        numbers = f"0 to {len(self.topics) - 1}" if self.topics else "none"
        raise QualcodeError(
            f"no topic {number} in the last topics run (topics: {numbers})",
            "see them with 'qualcode topics show'",
        )
