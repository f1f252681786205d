"""Similarity suggester: how close is a segment to a code's definition and anchor examples?

Segments and code descriptions are put in one latent semantic space: TF-IDF over lemmas
(Dutch stop words and annotations left out) reduced with truncated SVD (LSA), fitted on the
project's own segments plus the codebook texts, so it runs offline on any corpus. When the
project settings name a local sentence-transformers model, its embeddings are used instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qualcode.codebook import Code
from qualcode.nlp import FLAG_ANNOTATION, FLAG_PUNCT, FLAG_STOP, Token


@dataclass(frozen=True)
class ProfilePart:
    code: str
    kind: str  # "definition" | "example"
    number: int
    text: str

    def describe(self) -> str:
        if self.kind == "example":
            return f"example {self.number} of {self.code}"
        return f"the definition of {self.code}"


def profile_parts(code: Code) -> list[ProfilePart]:
    parts = []
    description = " ".join([code.label, code.definition, *code.include])
    if description.strip():
        parts.append(ProfilePart(code.path, "definition", 0, description))
    for n, example in enumerate(code.examples, start=1):
        parts.append(ProfilePart(code.path, "example", n, example))
    return parts


NOT_CONTENT = FLAG_PUNCT | FLAG_ANNOTATION | FLAG_STOP
_IS_CONTENT: dict[str, bool] = {}


def is_content_lemma(lemma: str) -> bool:
    """At least two characters, one of them a letter (memoised: called for every token)."""
    known = _IS_CONTENT.get(lemma)
    if known is None:
        known = _IS_CONTENT[lemma] = len(lemma) > 1 and any(c.isalpha() for c in lemma)
    return known


def lemma_text(tokens: Sequence[Token]) -> str:
    """Content lemmas of a token list, space-separated (the TF-IDF input)."""
    return " ".join(
        t.lemma for t in tokens if not t.flags & NOT_CONTENT and is_content_lemma(t.lemma)
    )


class SimilaritySuggester:
    """``fit`` builds the space from segment and profile lemmas; ``scores`` gives cosines."""

    def __init__(
        self,
        n_components: int = 150,
        random_state: int = 0,
        floor: float = 0.15,
        ceiling: float = 0.6,
        embedding_model: str | None = None,
    ) -> None:
        self.n_components = n_components
        self.random_state = random_state
        self.floor = floor
        self.ceiling = ceiling
        self.embedding_model = embedding_model

    def fit(
        self,
        segment_lemmas: Sequence[str],
        profile_lemmas: Sequence[str],
        parts: Sequence[ProfilePart],
        segment_texts: Sequence[str] | None = None,
    ) -> SimilaritySuggester:
        self.parts_ = list(parts)
        self.codes_ = sorted({p.code for p in parts})
        if self.embedding_model:
            self.segment_vectors_, self.part_vectors_ = self._embed(
                segment_texts or segment_lemmas, [p.text for p in parts]
            )
            return self
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.preprocessing import normalize

        vectorizer = TfidfVectorizer(
            sublinear_tf=True, min_df=1, token_pattern=r"\S+", ngram_range=(1, 1)
        )
        matrix = vectorizer.fit_transform([*segment_lemmas, *profile_lemmas])
        self.vectorizer_ = vectorizer
        self.components_: np.ndarray | None = None
        k = min(self.n_components, matrix.shape[0] - 1, matrix.shape[1] - 1)
        if k >= 2:
            from threadpoolctl import threadpool_limits

            svd = TruncatedSVD(n_components=k, random_state=self.random_state)
            # One BLAS thread: on two cores the second thread mostly spins waiting, 3-8 times
            # slower in wall time on a busy machine, and the ingest/export work gets the core.
            with threadpool_limits(1):
                dense = normalize(svd.fit_transform(matrix))
            self.components_ = svd.components_
        else:
            dense = normalize(matrix.toarray())
        n = len(segment_lemmas)
        self.segment_vectors_ = dense[:n]
        self.part_vectors_ = dense[n:]
        return self

    def transform(self, segment_lemmas: Sequence[str], segment_texts: Sequence[str]) -> Any:
        """Vectors of new segments in the fitted space (folded in: the space is not changed)."""
        if self.embedding_model:
            return self._embed_texts(segment_texts or segment_lemmas)
        from sklearn.preprocessing import normalize

        matrix = self.vectorizer_.transform(list(segment_lemmas))
        if self.components_ is None:
            return normalize(matrix.toarray())
        return normalize(np.asarray(matrix @ self.components_.T))

    def to_bytes(self) -> bytes:
        """The fitted space as a numpy archive (no pickle: a project folder may come from
        someone else, and loading it must not run code)."""
        import io

        arrays: dict[str, Any] = {"part_vectors": self.part_vectors_}
        if not self.embedding_model:
            vocabulary = sorted(self.vectorizer_.vocabulary_, key=self.vectorizer_.vocabulary_.get)
            # UTF-8 bytes rather than numpy's UTF-32 strings: a quarter of the size, and a
            # search of the project's bytes for a name (the privacy check) finds it here too
            arrays["vocabulary"] = np.frombuffer("\n".join(vocabulary).encode("utf-8"), np.uint8)
            arrays["idf"] = self.vectorizer_.idf_
            if self.components_ is not None:
                arrays["components"] = self.components_
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    def load(self, data: bytes, parts: Sequence[ProfilePart]) -> SimilaritySuggester:
        """The space :meth:`to_bytes` wrote, for the same profile parts. scikit-learn is
        imported only if new segments are folded in (:meth:`transform`)."""
        import io

        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            stored = {name: arrays[name] for name in arrays.files}
        self.parts_ = list(parts)
        self.codes_ = sorted({p.code for p in parts})
        self.part_vectors_ = stored["part_vectors"]
        self.components_ = stored.get("components")
        self._stored = stored
        return self

    @property
    def vectorizer_(self) -> Any:
        if "_vectorizer" not in self.__dict__:
            from sklearn.feature_extraction.text import TfidfVectorizer

            terms = self._stored["vocabulary"].tobytes().decode("utf-8").split("\n")
            vectorizer = TfidfVectorizer(
                sublinear_tf=True,
                token_pattern=r"\S+",
                vocabulary={term: n for n, term in enumerate(terms)},
            )
            vectorizer.idf_ = self._stored["idf"]
            self._vectorizer = vectorizer
        return self._vectorizer

    @vectorizer_.setter
    def vectorizer_(self, value: Any) -> None:
        self._vectorizer = value

    def _embed(self, segments: Sequence[str], parts: Sequence[str]) -> tuple[Any, Any]:
        return self._embed_texts(segments), self._embed_texts(parts)

    def _load_model(self) -> None:
        from qualcode.errors import QualcodeError

        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise QualcodeError(
                "embedding_model is set but sentence-transformers is not installed",
                "pip install sentence-transformers",
            ) from exc
        try:
            model = SentenceTransformer(self.embedding_model, local_files_only=True)
        except Exception as exc:
            raise QualcodeError(
                f"cannot load the local embedding model '{self.embedding_model}' ({exc})",
                "give the path of a model folder on this machine, or remove embedding_model "
                "from settings.yaml to use the built-in TF-IDF/LSA space",
            ) from exc
        self.model_ = model

    def _embed_texts(self, texts: Sequence[str]) -> Any:
        if not hasattr(self, "model_"):
            self._load_model()
        vectors = self.model_.encode(
            list(texts), normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors)

    def scale(self, cosine: Any) -> Any:
        """Cosines (an array) mapped to [0, 1]: ``floor`` and below is 0, ``ceiling`` is 1."""
        return np.clip((cosine - self.floor) / (self.ceiling - self.floor), 0.0, 1.0)

    def best_matches(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Codes, and per segment and code the best cosine and the profile part it came from."""
        sims = self.segment_vectors_ @ self.part_vectors_.T
        best = np.zeros((sims.shape[0], len(self.codes_)), dtype=np.float32)
        which = np.zeros((sims.shape[0], len(self.codes_)), dtype=np.int32)
        for c, code in enumerate(self.codes_):
            idx = np.array([i for i, p in enumerate(self.parts_) if p.code == code])
            block = sims[:, idx]
            arg = block.argmax(axis=1)
            best[:, c] = block[np.arange(block.shape[0]), arg]
            which[:, c] = idx[arg]
        return self.codes_, best, which
