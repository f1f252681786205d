"""``qualcode topics``: fitting, storing, showing and promoting topics (qualcode.topics).

The sample corpus (13 transcripts, about 450 passages) is fitted once per module; a second fit
checks that the topics are reproducible. Tests that change a project work on a copy.
"""

from __future__ import annotations

import csv
import difflib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from coding_helpers import (
    assert_one_line_error,
    connect,
    copy_project,
    invoke,
)

from qualcode.errors import QualcodeError

CORPUS = Path(__file__).parent.parent / "corpus"
IMPACT_YAML = Path(__file__).parent.parent / "codebooks" / "impact.yaml"
SMALL_STUDY = ("fg02_wijkteam_rotterdam.txt", "fg06_schuldhulp_eindhoven.docx")


def ingest_corpus(folder: Path, names: tuple[str, ...] = (), codebook: Path | None = None) -> Path:
    """A project with the sample corpus (or the transcripts ``names`` of it), not yet coded."""
    from qualcode.ingest import ingest_files
    from qualcode.store import init_project

    source, metadata = CORPUS, CORPUS / "metadata.csv"
    if names:
        source = folder.parent / f"{folder.name}-transcripts"
        source.mkdir()
        for name in names:
            shutil.copy(CORPUS / name, source / name)
        with (CORPUS / "metadata.csv").open(encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        metadata = source / "metadata.csv"
        with metadata.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows([rows[0], *(r for r in rows[1:] if r[0] in names)])
    with init_project(folder, codebook=codebook) as project:
        ingest_files(project, [source], metadata=metadata)
    return folder


def copy_study(source: Path, target: Path) -> Path:
    """A copy of a project with its own copy of the codebook file (settings point to it)."""
    from qualcode.store import open_project

    copy_project(source, target)
    with open_project(target) as project:
        book = Path(project.settings()["codebook"])
        own = target / book.name
        shutil.copy(book, own)
        project.update_settings(codebook=str(own))
    return target


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample corpus with a copy of the default codebook, topics fitted once."""
    from qualcode.store import open_project
    from qualcode.topics import fit_topics

    base = tmp_path_factory.mktemp("topics")
    codebook = shutil.copy(IMPACT_YAML, base / "impact.yaml")
    folder = ingest_corpus(base / "study", codebook=Path(codebook))
    with open_project(folder) as project:
        fit_topics(project)
    return folder


@pytest.fixture(scope="module")
def result(study: Path):  # type: ignore[no-untyped-def]
    from qualcode.store import open_project
    from qualcode.topics import stored_topics

    with open_project(study) as project:
        return stored_topics(project)


@pytest.fixture(scope="module")
def small_study(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Two focus groups (about 110 passages) and no codebook: a very small study."""
    from qualcode.store import open_project
    from qualcode.topics import fit_topics

    folder = ingest_corpus(tmp_path_factory.mktemp("small") / "study", SMALL_STUDY)
    with open_project(folder) as project:
        return folder, fit_topics(project)


def topic_signature(result) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Everything a fit decides, without the run id and time."""
    return [
        (
            t.number,
            t.label,
            t.size,
            t.words,
            t.nearest_code,
            t.similarity,
            t.documents,
            t.speakers,
            tuple((p.key, p.text) for p in t.representatives),
        )
        for t in result.topics
    ] + [(result.passages, result.outliers, result.too_short)]


def members(project_dir: Path, run_id: int) -> list[tuple]:
    conn = connect(project_dir)
    try:
        return [
            tuple(r)
            for r in conn.execute(
                "SELECT t.number, m.segment_id, m.sentence, m.start, m.end, m.probability, m.rank"
                " FROM topic_members m JOIN topics t ON t.id = m.topic_id WHERE t.run_id = ?"
                " ORDER BY t.number, m.segment_id, m.sentence",
                (run_id,),
            )
        ]
    finally:
        conn.close()


# -- start-up and parameters -----------------------------------------------------------------


def test_help_imports_no_topic_model_libraries() -> None:
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from qualcode.cli import cli\n"
        "assert CliRunner().invoke(cli, ['topics', '--help']).exit_code == 0\n"
        "heavy = {'bertopic', 'umap', 'hdbscan', 'sklearn', 'numpy', 'torch'} & set(sys.modules)\n"
        "print(sorted(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_units_are_the_library_units() -> None:
    from qualcode.cli.topics_cmds import UNITS
    from qualcode.topics import TOPIC_UNITS

    assert UNITS == TOPIC_UNITS


def test_parameters_adapt_to_the_size_of_the_study() -> None:
    from qualcode.topics.model import MIN_UNITS, model_params

    tiny = model_params(MIN_UNITS)
    assert tiny.n_components < MIN_UNITS and tiny.n_neighbors < MIN_UNITS
    assert tiny.min_cluster_size == 5
    sample, large = model_params(452), model_params(1200)
    assert sample.min_cluster_size == 11 and large.min_cluster_size == 30
    assert sample.n_neighbors == large.n_neighbors == 15
    assert (tiny.min_samples, sample.min_samples, large.min_samples) == (2, 3, 5)
    assert model_params(3000).min_samples == 5
    assert model_params(452, min_size=20).min_cluster_size == 20
    # no topic may take more than a fifth of the passages, nor be capped below two of the smallest
    assert (sample.max_cluster_size, large.max_cluster_size) == (90, 240)
    assert tiny.max_cluster_size == 2 * tiny.min_cluster_size
    with pytest.raises(QualcodeError, match="at least 30"):
        model_params(MIN_UNITS - 1)
    with pytest.raises(QualcodeError, match="too large"):
        model_params(100, min_size=80)


def test_too_small_input_is_a_one_line_error(tmp_path: Path) -> None:
    project = ingest_corpus(tmp_path / "tiny", ("int03_jeugdarts_ggd.md",))  # 21 answers
    result = invoke("topics", "--project", project)
    assert_one_line_error(result, "only 21 passages", "at least 30")
    assert "--unit sentence" in result.stderr


def test_too_large_min_size_is_a_one_line_error(study: Path, tmp_path: Path) -> None:
    project = copy_study(study, tmp_path / "copy")
    result = invoke("topics", "--project", project, "--min-size", "1000")
    assert_one_line_error(result, "--min-size 1000", "too large")


def test_show_without_a_fit_is_a_one_line_error(tmp_path: Path) -> None:
    from qualcode.store import init_project

    init_project(tmp_path / "empty").close()
    result = invoke("topics", "show", "--project", tmp_path / "empty")
    assert_one_line_error(result, "no topics")


# -- fitting on the sample corpus ------------------------------------------------------------


def test_topics_cover_the_passages(result) -> None:  # type: ignore[no-untyped-def]
    assert result.unit == "segment"
    assert result.passages > 400 and result.too_short > 0
    assert len(result.topics) >= 5
    assert [t.number for t in result.topics] == list(range(len(result.topics)))
    # every passage fitted is in one topic or counted as an outlier; -1 is not a topic
    assert sum(t.size for t in result.topics) + result.outliers == result.passages
    assert 0 < result.outliers < result.passages / 2
    for topic in result.topics:
        assert topic.label and topic.label.split(", ")[0] == topic.words[0].word
        assert 0 < topic.words[0].share <= 1
        assert sum(n for _, n in topic.documents) == topic.size
        assert sum(n for _, n in topic.speakers) == topic.size


def test_sample_corpus_gives_no_giant_topic(result) -> None:  # type: ignore[no-untyped-def]
    from qualcode.topics.results import GIANT_SHARE

    largest = max(t.size for t in result.topics)
    assert largest <= GIANT_SHARE * (result.passages - result.outliers)
    assert result.warnings == []


def test_representatives_are_the_topics_own_passages(study: Path, result) -> None:  # type: ignore[no-untyped-def]
    from qualcode.store import open_project
    from qualcode.topics.results import SNIPPET_CHARS

    with open_project(study) as project:
        texts = {
            (r["name"], r["ord"]): r["text"]
            for r in project.conn.execute(
                "SELECT d.name, s.ord, substr(d.text, s.start + 1, s.end - s.start) AS text"
                " FROM segments s JOIN documents d ON d.id = s.document_id"
            )
        }
        roles = {
            r[0] for r in project.conn.execute("SELECT role FROM speakers WHERE is_interviewer")
        }
    for topic in result.topics:
        assert len(topic.representatives) == min(3, topic.size)
        for passage in topic.representatives:
            document, order = passage.key.rsplit("#", 1)
            assert passage.text == texts[(document, int(order))].strip()
            assert len(passage.snippet) <= SNIPPET_CHARS
        # interviewer and moderator turns are never data
        assert not any(f"({role})" in s for s, _ in topic.speakers for role in roles if role)


def test_two_fits_give_identical_topics(study: Path, result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qualcode.store import open_project
    from qualcode.topics import fit_topics

    project_dir = copy_study(study, tmp_path / "again")
    with open_project(project_dir) as project:
        again = fit_topics(project)
    assert again.run_id != result.run_id
    assert topic_signature(again) == topic_signature(result)
    assert members(project_dir, again.run_id) == members(study, result.run_id)


def test_runs_record_the_parameters_and_the_time_per_step(study: Path, result) -> None:  # type: ignore[no-untyped-def]
    conn = connect(study)
    try:
        run = conn.execute("SELECT * FROM runs WHERE id = ?", (result.run_id,)).fetchone()
    finally:
        conn.close()
    assert run["command"] == "topics" and run["finished_at"]
    assert json.loads(run["params"]) == {"unit": "segment", "min_size": None}
    summary = json.loads(run["summary"])
    assert summary["model"]["min_cluster_size"] == 11 and summary["model"]["seed"] == 42
    steps = {"prepare", "embedding", "umap", "hdbscan", "representation", "total"}
    assert steps <= set(summary["seconds"])
    assert summary["seconds"]["total"] >= summary["seconds"]["umap"] > 0
    assert summary["outliers"] == result.outliers and summary["topics"] == len(result.topics)


def test_show_prints_the_stored_topics_again(study: Path, result) -> None:  # type: ignore[no-untyped-def]
    first = invoke("topics", "show", "--project", study)
    assert first.exit_code == 0, first.output
    assert invoke("topics", "show", "--project", study).stdout == first.stdout
    text = first.stdout
    assert f"{result.passages} passages (segments), {len(result.topics)} topics" in text
    assert f"{result.outliers} outliers" in text
    assert "Topic -1" not in text
    for topic in result.topics:
        assert f"Topic {topic.number}: {topic.label}  ({topic.size} passages)" in text
        assert f"  nearest code: {topic.nearest}" in text
        for passage in topic.representatives:
            assert f'  {passage.key}  "{passage.snippet}"' in text
    # the group's --project reaches the sub-command too
    assert invoke("topics", "--project", study, "show").stdout == text


def test_show_verbose_prints_the_time_split(study: Path) -> None:
    shown = invoke("topics", "show", "--project", study, "--verbose")
    assert shown.exit_code == 0
    assert "Embedding: TF-IDF on lemmas + truncated SVD" in shown.stderr
    assert "min_cluster_size=11" in shown.stderr
    time_line = next(line for line in shown.stderr.splitlines() if line.startswith("Time:"))
    for step in ("embedding", "umap", "hdbscan", "representation", "total"):
        assert f"{step} " in time_line


def test_show_as_csv_and_json(study: Path, result, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / "topics.csv"
    assert invoke("topics", "show", "-p", study, "-f", "csv", "-o", target).exit_code == 0
    with target.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["topic"]) for r in rows] == [t.number for t in result.topics]
    assert rows[0]["example_1"].startswith(result.topics[0].representatives[0].key + ": ")
    data = json.loads(invoke("topics", "show", "-p", study, "-f", "json").stdout)
    assert [t["size"] for t in data] == [t.size for t in result.topics]
    assert data[0]["words"][0]["word"] == result.topics[0].words[0].word


# -- nearest code or "nieuw thema" -----------------------------------------------------------


def _topic_with(result, word: str):  # type: ignore[no-untyped-def]
    return next(t for t in result.topics if any(w.word == word for w in t.words))


def test_nearest_code_of_topics_in_the_sample_corpus(result) -> None:  # type: ignore[no-untyped-def]
    from qualcode.topics import NEW_THEME, NEW_THEME_BELOW

    expected = {
        # school, kinderen, ouder: both children's codes fit, and lie within 0.02 of each other
        "school": ("doelgroep/kinderen_leerachterstand", "doelgroep/kinderen_risicogezin"),
        "dementie": ("impact/psychisch/structuurverlies",),
        "digid": ("impact/sociaal/digitale_kloof",),
    }
    for word, codes in expected.items():
        topic = _topic_with(result, word)
        assert topic.nearest_code in codes and not topic.is_new, topic
        assert topic.similarity >= NEW_THEME_BELOW
        assert topic.nearest == f"{topic.nearest_code} ({topic.similarity:.2f})"
    new = [t for t in result.topics if t.is_new]
    assert new, "the corpus has small talk that no code describes"
    for topic in new:
        assert topic.similarity < NEW_THEME_BELOW
        assert topic.nearest.startswith(f"{NEW_THEME} (nearest: {topic.nearest_code} (")


def test_nearest_code_is_the_closest_profile() -> None:
    import numpy as np

    from qualcode.models import Segment
    from qualcode.topics import Topic, _topic_records
    from qualcode.topics.units import TopicUnit

    def unit(n: int) -> TopicUnit:
        segment = Segment(n, 1, "doc.txt", n, n, "R", None, False, 0, 5, "tekst")
        return TopicUnit(segment, 0, 0, 5, "tekst")

    # topic 0 lies along the first axis, topic 1 along the second; one code along each of
    # the first and third axes
    embeddings = np.array([[1, 0.1, 0], [1, -0.1, 0], [0.1, 1, 0], [-0.1, 1, 0]], dtype=float)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    profiles = np.array([[1.0, 0, 0], [0, 0, 1.0]])
    words = {0: [("a", 1.0, 1.0)], 1: [("b", 1.0, 1.0)]}
    records = _topic_records(
        [unit(n) for n in range(4)], [0, 0, 1, 1], [1.0] * 4, words, embeddings, profiles,
        ["x/near", "x/far"],
    )  # fmt: skip
    assert (records[0].nearest_code, records[0].similarity) == ("x/near", 1.0)
    assert records[1].similarity == pytest.approx(0.0, abs=1e-6)
    as_topic = Topic(1, "b", (), 2, (), (), (), records[1].nearest_code, records[1].similarity)
    assert as_topic.is_new and as_topic.nearest.startswith("nieuw thema")
    assert Topic(2, "c", (), 2, (), (), (), None, None).nearest == "nieuw thema"


def test_without_a_codebook_every_topic_is_a_new_theme(small_study) -> None:  # type: ignore[no-untyped-def]
    _, found = small_study
    assert found.codebook is None
    assert found.topics and all(t.nearest_code is None and t.is_new for t in found.topics)


def test_a_very_small_study_gives_several_topics_and_no_giant_one(small_study) -> None:  # type: ignore[no-untyped-def]
    from qualcode.topics.results import GIANT_SHARE

    _, found = small_study
    assert 90 <= found.passages <= 130
    assert found.params["n_neighbors"] < 15 and found.params["min_cluster_size"] == 5
    assert len(found.topics) >= 3
    assert max(t.size for t in found.topics) <= GIANT_SHARE * (found.passages - found.outliers)
    assert found.warnings == []


def test_sentences_as_units(small_study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qualcode.store import open_project
    from qualcode.topics import fit_topics

    folder = copy_project(small_study[0], tmp_path / "sentences")
    with open_project(folder) as project:
        found = fit_topics(project, unit="sentence")
    assert found.unit == "sentence" and found.passages > small_study[1].passages
    passages = [p for t in found.topics for p in t.representatives]
    assert passages and all(p.sentence >= 1 for p in passages)
    shown = invoke("topics", "show", "--project", folder)
    assert "passages (sentences)" in shown.stdout


# -- promote ---------------------------------------------------------------------------------

NEW_CODE = "impact/sociaal/kennismaking"


def code_row(project_dir: Path, path: str):  # type: ignore[no-untyped-def]
    conn = connect(project_dir)
    try:
        return conn.execute(
            "SELECT c.*, p.path AS parent FROM codes c LEFT JOIN codes p ON p.id = c.parent_id"
            " WHERE c.path = ?",
            (path,),
        ).fetchone()
    finally:
        conn.close()


def new_theme(result):  # type: ignore[no-untyped-def]
    return next(t for t in result.topics if t.is_new)


@pytest.fixture(scope="module")
def promoted(study: Path, result, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A copy of the study with a new theme promoted (project only), then suggest run."""
    folder = copy_study(study, tmp_path_factory.mktemp("promoted") / "study")
    topic = new_theme(result)
    args = ("--as", NEW_CODE, "--label", "Kennismaking en voorstellen")
    output = invoke("topics", "promote", topic.number, "--project", folder, *args)
    suggested = invoke("suggest", "--project", folder)
    assert suggested.exit_code == 0, suggested.output
    return folder, topic, output


def test_promote_adds_a_code_with_keywords_and_examples(promoted) -> None:  # type: ignore[no-untyped-def]
    from qualcode.topics.promote import EXAMPLE_CHARS, topic_keywords

    folder, topic, output = promoted
    assert output.exit_code == 0, output.output
    assert f"Code {NEW_CODE} (Kennismaking en voorstellen) added from topic {topic.number}" in (
        output.stdout
    )
    assert "Stored in the project only" in output.stdout
    row = code_row(folder, NEW_CODE)
    assert (row["origin"], row["parent"], row["code_key"]) == (
        "topic",
        "impact/sociaal",
        "kennismaking",
    )
    spec = json.loads(row["spec"])
    assert spec["keywords"] == list(topic_keywords(topic)) and spec["keywords"]
    specific = [w.word for w in topic.words if w.share >= 0.5 and len(w.word) >= 3]
    assert set(spec["keywords"]) <= set(specific) or len(spec["keywords"]) == 3
    assert len(spec["examples"]) == len(topic.representatives) == 3
    for example, passage in zip(spec["examples"], topic.representatives, strict=True):
        assert len(example) <= EXAMPLE_CHARS
        assert passage.text.startswith(example.removesuffix(" …")[:50])
    assert spec["definition"].startswith(f"Nieuw thema uit topic {topic.number} ")
    assert topic.words[0].word in spec["definition"]
    # without --write-yaml the codebook file is not touched
    codebook = Path(json.loads(json.dumps(str(folder / "impact.yaml"))))
    assert codebook.read_bytes() == IMPACT_YAML.read_bytes()
    assert not codebook.with_name("impact.yaml.bak").exists()


def test_promoted_code_is_used_by_the_next_suggest(promoted) -> None:  # type: ignore[no-untyped-def]
    from qualcode.codes import resolve_codebook
    from qualcode.store import open_project

    folder = promoted[0]
    conn = connect(folder)
    try:
        rows = conn.execute(
            "SELECT c.coder, c.status, c.explanation FROM codings c JOIN codes k"
            " ON k.id = c.code_id WHERE k.path = ?",
            (NEW_CODE,),
        ).fetchall()
    finally:
        conn.close()
    assert rows and {(r["coder"], r["status"]) for r in rows} == {("qualcode", "suggested")}
    # the suggest run kept the code as the project's own, under its parent
    assert code_row(folder, NEW_CODE)["origin"] == "topic"
    with open_project(folder) as project:
        book = resolve_codebook(project)
    code = book.by_path[NEW_CODE]
    assert code.parent == "impact/sociaal" and code in book.find("impact/sociaal").children
    assert book.find("kennismaking") is code


def test_show_marks_the_promoted_topic(promoted) -> None:  # type: ignore[no-untyped-def]
    folder, topic, _ = promoted
    shown = invoke("topics", "show", "--project", folder).stdout
    block = shown.split(f"Topic {topic.number}: ")[1].split("\nTopic ")[0]
    assert f"  promoted to:  {NEW_CODE}" in block
    again = invoke(
        "topics", "promote", topic.number, "-p", folder, "--as", "aanpak/x", "--label", "X"
    )
    assert_one_line_error(again, f"topic {topic.number} was already promoted to {NEW_CODE}")


@pytest.mark.parametrize(
    ("topic", "code", "fragments"),
    [
        ("99", "impact/sociaal/nieuw", ("no topic 99",)),
        ("0", "impact/bestaat_niet/nieuw", ("parent code impact/bestaat_niet",)),
        ("0", "aanpak/eenzaamheid", ("code id 'eenzaamheid' already exists",)),
        ("0", "impact/sociaal/eenzaamheid", ("impact/sociaal/eenzaamheid", "already exists")),
        ("0", "impact/sociaal/Nieuw-Thema", ("'Nieuw-Thema' must be lowercase",)),
        ("0", "nieuw", ("has no parent",)),
    ],
)
def test_promote_errors_are_one_line(study: Path, topic: str, code: str, fragments: tuple) -> None:
    before = connect(study).execute("SELECT count(*) FROM codes").fetchone()[0]
    result = invoke("topics", "promote", topic, "--project", study, "--as", code, "--label", "X")
    assert_one_line_error(result, *fragments)
    assert connect(study).execute("SELECT count(*) FROM codes").fetchone()[0] == before


def test_promote_with_write_yaml_keeps_the_rest_of_the_file(
    study: Path, result, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from qualcode.codebook import load_codebook
    from qualcode.codes import resolve_codebook, sync_codes
    from qualcode.store import open_project
    from qualcode.topics.promote import topic_keywords

    folder = copy_study(study, tmp_path / "yaml")
    codebook = folder / "impact.yaml"
    original = codebook.read_text(encoding="utf-8")
    topic = new_theme(result)
    args = ("--as", NEW_CODE, "--label", "Kennismaking", "--definition", "Men stelt zich voor.")
    output = invoke("topics", "promote", topic.number, "-p", folder, *args, "--write-yaml")
    assert output.exit_code == 0, output.output
    assert f"Written into {codebook} (the old file is {codebook}.bak)" in output.stdout
    assert Path(f"{codebook}.bak").read_text(encoding="utf-8") == original
    text = codebook.read_text(encoding="utf-8")
    # lines were only inserted, in one block, under the last sub-code of impact/sociaal
    old, new = original.splitlines(), text.splitlines()
    changes = [
        op
        for op in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes()
        if op[0] != "equal"
    ]
    assert [op[0] for op in changes] == ["insert"]
    inserted = new[changes[0][3] : changes[0][4]]
    assert inserted[0] == "          - id: kennismaking"
    assert all(line.startswith("            ") for line in inserted[1:])
    assert text.startswith("# Default codebook of qualcode")
    book = load_codebook(codebook)
    code = book.by_path[NEW_CODE]
    assert (code.label, code.definition) == ("Kennismaking", "Men stelt zich voor.")
    assert code.keywords == topic_keywords(topic) and len(code.examples) == 3
    assert book.find("impact/sociaal").children[-1] == code
    # the file is in charge of the code from now on
    assert code_row(folder, NEW_CODE)["origin"] == "codebook"
    with open_project(folder) as project:
        report = sync_codes(project, resolve_codebook(project))
    assert NEW_CODE not in report.added + report.removed
    assert code_row(folder, NEW_CODE)["origin"] == "codebook"


def test_write_yaml_under_a_code_missing_from_the_file_changes_nothing(
    promoted, result, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from qualcode.codes import resolve_codebook
    from qualcode.store import open_project

    folder = copy_study(promoted[0], tmp_path / "nested")
    codebook = folder / "impact.yaml"
    before = codebook.read_bytes()
    other = next(t for t in result.topics if t.number != promoted[1].number)
    args = ("--as", f"{NEW_CODE}/groet", "--label", "Groet")
    output = invoke("topics", "promote", other.number, "-p", folder, *args, "--write-yaml")
    assert_one_line_error(output, f"parent code {NEW_CODE} is not written in this file")
    assert code_row(folder, f"{NEW_CODE}/groet") is None
    assert codebook.read_bytes() == before and not Path(f"{codebook}.bak").exists()
    # in the project only, a topic can go under a promoted code
    assert invoke("topics", "promote", other.number, "-p", folder, *args).exit_code == 0
    with open_project(folder) as project:
        book = resolve_codebook(project)
    assert book.by_path[f"{NEW_CODE}/groet"].parent == NEW_CODE


def test_a_code_written_into_the_file_later_belongs_to_the_file(promoted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from qualcode.codebook import add_code_to_file
    from qualcode.codes import resolve_codebook
    from qualcode.store import open_project

    folder = copy_study(promoted[0], tmp_path / "adopted")
    with open_project(folder) as project:
        code = resolve_codebook(project).by_path[NEW_CODE]
        add_code_to_file(folder / "impact.yaml", "impact/sociaal", code)  # as a person would
        from_file = resolve_codebook(project).by_path[NEW_CODE]
    assert from_file.to_dict() == code.to_dict() and from_file.line is not None
    assert code_row(folder, NEW_CODE)["origin"] == "codebook"


def test_a_promoted_code_whose_parent_is_gone_is_left_out_with_a_warning(
    promoted, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from qualcode.codes import resolve_codebook
    from qualcode.store import open_project

    other = tmp_path / "ander.yaml"
    other.write_text("name: Ander\ncodes:\n  - id: aanpak\n    label: Aanpak\n", encoding="utf-8")
    folder = copy_study(promoted[0], tmp_path / "orphan")
    with open_project(folder) as project:
        book = resolve_codebook(project, other)
    assert NEW_CODE not in book.by_path
    assert any(NEW_CODE in w and "impact/sociaal is no longer" in w for w in book.warnings)


# -- writing a code into a codebook file -----------------------------------------------------

SMALL_YAML = """\
# Kop van het codeboek: blijft staan.
name: Klein
codes:
  - id: impact
    label: Impact  # commentaar achter een waarde
    children:
      - id: sociaal
        label: Sociaal
        definition: Een lange tekst die
          over twee regels loopt.

      # commentaar bij de volgende code
  - id: aanpak
    label: Aanpak
"""


def _code(path: str, **fields: object):  # type: ignore[no-untyped-def]
    from qualcode.codebook import Code

    parent, _, code_id = path.rpartition("/")
    return Code(id=code_id, label=code_id.capitalize(), path=path, parent=parent, **fields)


def test_add_code_after_the_last_child(tmp_path: Path) -> None:
    from qualcode.codebook import add_code_to_file

    file = tmp_path / "klein.yaml"
    file.write_text(SMALL_YAML, encoding="utf-8")
    add_code_to_file(file, "impact", _code("impact/eenzaam", keywords=("alleen", "eenzaam")))
    expected = SMALL_YAML.replace(
        "          over twee regels loopt.\n",
        "          over twee regels loopt.\n"
        "      - id: eenzaam\n"
        "        label: Eenzaam\n"
        "        keywords:\n"
        "          - alleen\n"
        "          - eenzaam\n",
    )
    assert file.read_text(encoding="utf-8") == expected
    assert (tmp_path / "klein.yaml.bak").read_text(encoding="utf-8") == SMALL_YAML


def test_add_code_under_a_code_without_children(tmp_path: Path) -> None:
    from qualcode.codebook import add_code_to_file, load_codebook

    file = tmp_path / "klein.yaml"
    file.write_text(SMALL_YAML, encoding="utf-8")
    example = "Een voorbeeld: met een dubbele punt, en ‘aanhalingstekens’ erin."
    add_code_to_file(file, "aanpak", _code("aanpak/erop_af", examples=(example,)))
    text = file.read_text(encoding="utf-8")
    assert text.startswith(SMALL_YAML)
    assert text[len(SMALL_YAML) :].startswith("    children:\n      - id: erop_af\n")
    assert load_codebook(file).by_path["aanpak/erop_af"].examples == (example,)


def test_add_code_keeps_crlf_and_bom(tmp_path: Path) -> None:
    from qualcode.codebook import add_code_to_file, load_codebook

    file = tmp_path / "windows.yaml"
    file.write_bytes(b"\xef\xbb\xbf" + SMALL_YAML.replace("\n", "\r\n").encode())
    add_code_to_file(file, "impact/sociaal", _code("impact/sociaal/buren"))
    raw = file.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\n" not in raw.replace(b"\r\n", b"")
    assert "impact/sociaal/buren" in load_codebook(file).by_path


def test_add_code_under_a_parent_not_in_the_file(tmp_path: Path) -> None:
    from qualcode.codebook import add_code_to_file
    from qualcode.errors import CodebookError

    file = tmp_path / "klein.yaml"
    file.write_text(SMALL_YAML, encoding="utf-8")
    with pytest.raises(CodebookError, match="parent code impact/psychisch"):
        add_code_to_file(file, "impact/psychisch", _code("impact/psychisch/angst"))
    assert file.read_text(encoding="utf-8") == SMALL_YAML


def test_no_topics_found_is_a_warning_not_a_crash(small_study, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = copy_project(small_study[0], tmp_path / "none")
    result = invoke("topics", "--project", folder, "--min-size", "50")
    assert result.exit_code == 0, result.output
    assert "Warning: no topics found" in result.stderr
    assert ", 0 topics, " in result.stdout
    assert invoke("topics", "show", "-p", folder, "-f", "json").stdout.strip() == "[]"


def test_label_shows_each_word_once() -> None:
    from qualcode.topics import topic_label

    words = [(w, 1.0, 1.0) for w in ("meter", "anderhalf meter", "dicht", "anderhalf", "deur")]
    assert topic_label(words) == "meter, dicht, anderhalf, deur"
    assert topic_label([("uitvaart dertig", 1.0), ("uitvaart", 0.9), ("rouw", 0.8)]) == (
        "uitvaart dertig, rouw"
    )


def test_missing_bertopic_is_a_one_line_error(small_study, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "bertopic", None)  # as if it were not installed
    folder = copy_project(small_study[0], tmp_path / "without")
    result = invoke("topics", "--project", folder)
    assert_one_line_error(result, "needs BERTopic", "not installed")
    assert "qualcode[topics]" in result.stderr
