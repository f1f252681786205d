"""A stand-in for ``nl_core_news_sm`` to time qualcode against a trained-size Dutch pipeline.

``nl_core_news_sm`` cannot be installed on the benchmark machines (no download), and the
offline fallback is only a tokenizer, a sentencizer and a lookup table. This script builds a
pipeline with the *architecture* of ``nl_core_news_sm`` 3.8 as qualcode runs it (tok2vec,
tagger, morphologizer, trainable lemmatizer, senter; the parser and NER are excluded by qualcode,
so they are left out here too), from spaCy's own "efficiency" templates (the ``sm`` models are
trained from these), with randomly initialised weights and label sets of a realistic size.
Its annotations are nonsense, but a neural network's speed does not depend on its weights:
``nlp.pipe`` costs what the real model costs, give or take the label counts below.

    python benchmarks/standin_pipeline.py outputs/bench/standin-nl   # then:
    python benchmarks/scale.py --model outputs/bench/standin-nl --sizes 300k --only throughput
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

# Label-set sizes of the same order as the Dutch models' (tags: the Alpino/CGN XPOS set,
# morphology: feature bundles, lemmatizer: edit trees); they set the output layers' widths.
TAGS = 250
MORPHS = 400
LEMMA_TREES = 1500
COMPONENTS = ["tok2vec", "tagger", "morphologizer", "trainable_lemmatizer", "senter"]
WORDS = " ".join(
    [
        "ik wij jullie zij de het een buurt geld huur schuld zorg eenzaam bang werk school",
        "kinderen moeder vader oma hulp wijkteam gemeente voedselbank rekening betalen voelen",
        "denken zien praten komen gaan zijn hebben niet geen nooit altijd soms heel erg goed",
    ]
).split()


def build(folder: Path, seed: int = 7) -> Path:
    import spacy
    from spacy.cli.init_config import init_config
    from spacy.training import Example

    config = init_config(lang="nl", pipeline=COMPONENTS, optimize="efficiency")
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    rng = random.Random(seed)
    examples = []
    for n in range(max(TAGS, MORPHS, LEMMA_TREES) // 10 + 50):
        words = [rng.choice(WORDS) for _ in range(12)] + ["."]
        doc = spacy.tokens.Doc(nlp.vocab, words=words)
        # numbered labels so that every component sees its full label set
        tags = [f"T{(n * 13 + i) % TAGS}" for i in range(len(words))]
        morphs = [f"Case=C{(n * 7 + i) % MORPHS}" for i in range(len(words))]
        lemmas = [
            w[: max(1, len(w) - (n + i) % 4)] + "x" * ((n * 3 + i) % 7) for i, w in enumerate(words)
        ]
        starts = [i == 0 for i in range(len(words))]
        examples.append(
            Example.from_dict(
                doc, {"tags": tags, "morphs": morphs, "lemmas": lemmas, "sent_starts": starts}
            )
        )
    nlp.get_pipe("trainable_lemmatizer").cfg["min_tree_freq"] = 1
    nlp.initialize(lambda: examples)
    nlp.meta.update({"name": "core_news_sm_standin", "version": "3.8.0", "lang": "nl"})
    folder.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(folder)
    labels = {name: len(nlp.get_pipe(name).labels) for name in COMPONENTS[1:4]}
    print(f"{folder}: {', '.join(f'{k} {v} labels' for k, v in labels.items())}")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    build(args.folder, args.seed)


if __name__ == "__main__":
    main()
