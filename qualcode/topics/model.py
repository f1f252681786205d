"""The topic model: an offline embedding, UMAP, HDBSCAN and BERTopic's topic words.

Everything heavy (scikit-learn, UMAP, HDBSCAN, BERTopic) is imported inside the functions:
BERTopic and UMAP take seconds to import and ``qualcode --help`` must stay instant.

Embedding. By default TF-IDF over the stored lemmas reduced with truncated SVD and normalised
(latent semantic analysis): it needs no download and works on any corpus. When the project
settings name a local sentence-transformers model (``embedding_model``), that model is used
instead, loaded with ``local_files_only`` (never downloaded).

Parameters adapt to the number of passages: a study of a few hundred passages needs smaller
neighbourhoods and clusters than BERTopic's defaults, which are made for tens of thousands of
documents and put most of a small study into one topic or into the outliers.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from time import perf_counter
from typing import Any

from qualcode.errors import QualcodeError

# UMAP's random_state: with a fixed seed UMAP runs single-threaded and a re-fit gives the same
# topics. (TruncatedSVD gets the same seed.)
SEED = 42
# Fewer passages than this give no meaningful clusters (UMAP needs neighbours, HDBSCAN needs
# several clusters of at least a handful of passages).
MIN_UNITS = 30
# LSA dimensions: enough for a few thousand passages; capped by the vocabulary and corpus size.
MAX_SVD_COMPONENTS = 100
# A word for the topic model: starts with a letter, at least two characters, may hold
# hyphens and apostrophes (burn-out, zzp'er); leaves out numbers and clitics such as 's.
WORD_PATTERN = r"(?u)(?<![\w'’-])[^\W\d_][\w'’-]*\w"
# Topic words kept per topic (c-TF-IDF, best first).
TOP_WORDS = 10
# Fillers and conversation verbs that spaCy's Dutch stop list lacks but that never name a theme.
CONVERSATION_WORDS = frozenset({
    "ja", "nee", "nou", "eh", "ehm", "uhm", "hm", "hmm", "oké", "ok", "okay", "hè", "zeg",
    "gewoon", "echt", "heel", "even", "natuurlijk", "eigenlijk", "best", "zeggen", "weten",
    "denken", "vinden", "bedoelen", "gaan", "komen",
})  # fmt: skip


@dataclass(frozen=True)
class ModelParams:
    """UMAP and HDBSCAN settings for one fit (see :func:`model_params`)."""

    min_cluster_size: int
    min_samples: int
    n_neighbors: int
    n_components: int
    max_cluster_size: int
    seed: int = SEED

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


# The largest topic HDBSCAN may choose, as a share of the passages (see model_params).
MAX_TOPIC_SHARE = 0.2


def model_params(n_units: int, min_size: int | None = None) -> ModelParams:
    """Settings that fit a study of ``n_units`` passages.

    - ``min_cluster_size`` (the smallest topic): ``min_size`` if given, else about one passage
      in forty, between 5 and 40: 11 for the 450 passages of the sample corpus, 30 for 1,200.
    - ``min_samples`` a third of that, at most 5: HDBSCAN's default (equal to
      ``min_cluster_size``) is so conservative on small data that one cluster swallows most
      passages (on the 2,553 sentences of the sample corpus, without the size limit below:
      2,150 in one topic with the default; 24 topics of at most 240 sentences with 5).
    - ``n_neighbors`` 15 (BERTopic's default) for larger studies, fewer for small ones so that
      a neighbourhood stays within one theme; always fewer than the passages.
    - ``n_components`` 5, and always fewer than the passages (UMAP's spectral start needs it).
    - ``max_cluster_size`` a fifth of the passages (at least twice the smallest topic): HDBSCAN's
      "excess of mass" choice sometimes prefers one cluster of nearly everything to the themes
      inside it, and which one it prefers can turn on a small change of the words (on the
      sample corpus: 17 topics, or one of 435 of the 452 passages, after better lemmas).
    """
    if n_units < MIN_UNITS:
        raise QualcodeError(
            f"only {n_units} passages with enough words to look for themes; "
            f"at least {MIN_UNITS} are needed",
            "add transcripts to the project, or try --unit sentence",
        )
    largest = n_units // 2
    if min_size is not None and min_size > largest:
        raise QualcodeError(
            f"--min-size {min_size} is too large for {n_units} passages (at most {largest})",
            "choose a smaller --min-size, or leave it out to let qualcode choose",
        )
    cluster = min_size or max(5, min(40, round(n_units / 40)))
    return ModelParams(
        min_cluster_size=cluster,
        min_samples=max(2, min(5, cluster // 3)),
        n_neighbors=max(5, min(15, n_units // 10, n_units - 1)),
        n_components=min(5, n_units - 2),
        max_cluster_size=max(2 * cluster, round(n_units * MAX_TOPIC_SHARE)),
    )


@dataclass
class FittedTopics:
    """What one fit found, per passage and per topic (numbers 0..n-1, -1 = outlier)."""

    labels: list[int]
    probabilities: list[float]
    # per topic: (word, c-TF-IDF weight, share of the passages with the word that are in it)
    words: dict[int, list[tuple[str, float, float]]]
    embeddings: Any  # numpy array, one normalised row per passage
    profile_embeddings: Any  # the texts given as ``profiles``, in the same space
    embedding: str  # what made the embeddings, for the run summary
    seconds: dict[str, float] = field(default_factory=dict)


def embed(
    unit_lemmas: Sequence[str],
    unit_texts: Sequence[str],
    profile_lemmas: Sequence[str],
    profile_texts: Sequence[str],
    *,
    embedding_model: str | None = None,
    seed: int = SEED,
) -> tuple[Any, Any, str]:
    """Passages and profiles (e.g. code descriptions) in one space, rows normalised.

    The LSA space is fitted on the passages only, so the topics are shaped by the data and
    the profiles are projected into it.
    """
    import numpy as np

    if embedding_model:
        from qualcode.suggest.similarity import SimilaritySuggester

        # the suggester's loader: local files only, one clear error when the model is missing
        units, profiles = SimilaritySuggester(embedding_model=embedding_model)._embed(
            unit_texts, profile_texts
        )
        return units, profiles, f"sentence-transformers model {embedding_model}"
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    stops = stop_words()

    def tfidf() -> Any:
        # words in a single passage only add noise to the space once there are enough passages
        min_df = 2 if len(unit_lemmas) >= 100 else 1
        return TfidfVectorizer(
            sublinear_tf=True, token_pattern=WORD_PATTERN, min_df=min_df, stop_words=stops
        )

    vocabulary = len(tfidf().fit(unit_lemmas).vocabulary_)
    if vocabulary < 3:
        raise QualcodeError(
            f"the {len(unit_lemmas)} passages share only {vocabulary} different words: "
            "too few to tell themes apart",
            "add transcripts to the project",
        )
    k = min(MAX_SVD_COMPONENTS, len(unit_lemmas) - 1, vocabulary - 1)
    space = make_pipeline(tfidf(), TruncatedSVD(n_components=k, random_state=seed), Normalizer())
    # For a study's few thousand passages BLAS threads cost more than they save: the SVD of
    # the sample corpus takes 0.05 s on one thread and 0.6 to 5 s on two busy cores.
    with threadpool_limits(limits=1):
        units = space.fit_transform(unit_lemmas)
        profiles = space.transform(list(profile_lemmas)) if profile_lemmas else np.zeros((0, k))
    return units, profiles, f"TF-IDF on lemmas + truncated SVD ({k} dimensions)"


def _timed(cls: type) -> type:
    """A subclass of a UMAP/HDBSCAN estimator that records how long ``fit`` took, so the
    run summary can split BERTopic's time without re-implementing its steps."""

    class Timed(cls):  # type: ignore[misc, valid-type]
        def fit(self, *args: Any, **kwargs: Any) -> Any:
            start = perf_counter()
            try:
                return super().fit(*args, **kwargs)
            finally:
                self.seconds_ = perf_counter() - start

    Timed.__name__ = Timed.__qualname__ = cls.__name__
    return Timed


def stop_words() -> list[str]:
    """spaCy's Dutch stop list plus conversation words, lower case like the stored lemmas."""
    from qualcode.nlp import import_spacy

    import_spacy()
    from spacy.lang.nl.stop_words import STOP_WORDS

    return sorted({w.lower() for w in STOP_WORDS} | CONVERSATION_WORDS)


def fit_model(
    unit_lemmas: Sequence[str],
    unit_texts: Sequence[str],
    params: ModelParams,
    *,
    profile_lemmas: Sequence[str] = (),
    profile_texts: Sequence[str] = (),
    embedding_model: str | None = None,
) -> FittedTopics:
    """Fit BERTopic on the passages' lemmas; the embeddings are computed first and given to it
    (so their time is measured apart and the code profiles land in the same space)."""
    # BERTopic and sentence-transformers must never reach for the Hugging Face hub
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    start = perf_counter()
    units, profiles, description = embed(
        unit_lemmas,
        unit_texts,
        profile_lemmas,
        profile_texts,
        embedding_model=embedding_model,
        seed=params.seed,
    )
    seconds = {"embedding": perf_counter() - start}

    start = perf_counter()
    try:
        from bertopic import BERTopic
        from bertopic.vectorizers import ClassTfidfTransformer
        from hdbscan import HDBSCAN
        from umap import UMAP
    except ImportError as exc:  # BERTopic is an optional dependency (it pulls in torch)
        raise QualcodeError(
            f"finding topics needs BERTopic, which is not installed ({exc.name} is missing)",
            "pip install 'qualcode[topics]' (the README tells how to get the CPU build of torch)",
        ) from exc
    from sklearn.feature_extraction.text import CountVectorizer

    seconds["import"] = perf_counter() - start
    umap_model = _timed(UMAP)(
        n_neighbors=params.n_neighbors,
        n_components=params.n_components,
        min_dist=0.0,
        metric="cosine",
        random_state=params.seed,
    )
    hdbscan_model = _timed(HDBSCAN)(
        min_cluster_size=params.min_cluster_size,
        min_samples=params.min_samples,
        metric="euclidean",
        cluster_selection_method="eom",
        max_cluster_size=params.max_cluster_size,
        prediction_data=False,
    )
    model = BERTopic(
        embedding_model=None,
        umap_model=umap_model,
        hdbscan_model=hdbscan_model,
        # the passages are lemma strings already: words and two-word phrases, stop words out.
        vectorizer_model=CountVectorizer(
            token_pattern=WORD_PATTERN, stop_words=stop_words(), ngram_range=(1, 2)
        ),
        # damps words that occur in every topic ("mensen", "tijd") so the labels differ
        ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
        top_n_words=TOP_WORDS,
        calculate_probabilities=False,
        # not "english": BERTopic would then strip every non-ASCII letter (één, tweeënzestig)
        language="dutch",
        verbose=False,
    )
    start = perf_counter()
    with warnings.catch_warnings():
        # UMAP says that a fixed random_state turns off parallelism: that is the point
        warnings.filterwarnings("ignore", message=".*n_jobs value.*", category=UserWarning)
        labels, probabilities = model.fit_transform(list(unit_lemmas), embeddings=units)
    total = perf_counter() - start
    seconds["umap"] = getattr(umap_model, "seconds_", 0.0)
    seconds["hdbscan"] = getattr(hdbscan_model, "seconds_", 0.0)
    seconds["representation"] = max(0.0, total - seconds["umap"] - seconds["hdbscan"])
    words = _topic_words(model, list(unit_lemmas), [int(t) for t in labels])
    return FittedTopics(
        labels=[int(t) for t in labels],
        probabilities=[float(p) for p in probabilities]
        if probabilities is not None
        else [1.0] * len(labels),
        words=words,
        embeddings=units,
        profile_embeddings=profiles,
        embedding=description,
        seconds=seconds,
    )


def _topic_words(model: Any, docs: list[str], labels: list[int]) -> dict[int, list[Any]]:
    """Each topic's words with how specific they are to it: of the passages that contain the
    word, the share in this topic. 'buurthuis' may be 0.8 for a topic, 'elkaar' 0.1; a word
    that occurs everywhere makes a poor keyword for a new code."""
    import numpy as np

    present = model.vectorizer_model.transform(docs) > 0
    vocabulary = model.vectorizer_model.vocabulary_
    labels_array = np.asarray(labels)
    out: dict[int, list[Any]] = {}
    for topic in sorted(set(labels) - {-1}):
        inside = labels_array == topic
        out[topic] = []
        for word, weight in model.get_topic(topic) or []:
            if not word or word not in vocabulary:
                continue
            column = present[:, vocabulary[word]].toarray().ravel()
            if not column[inside].any():
                # BERTopic joins a topic's passages into one text, which makes phrases across
                # the seam of two passages ("gang sorry"); no passage of the topic has them
                continue
            share = float(column[inside].sum() / column.sum())
            out[topic].append((str(word), float(weight), share))
    return out
