"""Re-runs do only the work that changed: stored matches, a kept similarity space, unchanged
files not parsed again; and the results are those of a fresh run where they should be."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from coding_helpers import (
    CODING_YAML,
    SUGGEST_CORPUS,
    build_project,
    codings,
    connect,
    invoke,
    suggested,
    write,
)

from qualcode.nlp import load_pipeline, pipeline_info
from qualcode.segments import coded_units
from qualcode.store import open_project
from qualcode.suggest import features, space, suggest


def _last_summary(project_dir: Path) -> dict:
    with connect(project_dir) as conn:
        row = conn.execute(
            "SELECT summary FROM runs WHERE command = 'suggest' ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return json.loads(row[0])


def _scores(project_dir: Path) -> list[tuple]:
    """The machine's suggestions without ids, run ids and times."""
    with connect(project_dir) as conn:
        return conn.execute(
            "SELECT segment_id, code_id, status, score, source, explanation FROM codings"
            " WHERE coder = 'qualcode' ORDER BY segment_id, code_id"
        ).fetchall()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_project(tmp_path_factory.mktemp("incremental") / "project")


def test_a_second_suggest_reuses_everything_and_gives_the_same_suggestions(
    built: Path, tmp_path: Path
) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    first = _last_summary(project_dir)
    assert first["matched"] == first["segments"] > 0
    assert first["space"] == "refitted"
    before = _scores(project_dir)
    with open_project(project_dir) as project:
        report = suggest(project)
    assert report.work is not None
    assert (report.work.tokenised, report.work.matched) == (0, 0)
    assert not report.work.refitted and report.work.folded_in == 0
    assert _scores(project_dir) == before


def test_a_keyword_change_matches_again_without_running_spacy_again(
    built: Path, tmp_path: Path
) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    changed = CODING_YAML.read_text(encoding="utf-8").replace(
        "keywords: [schuld, betalingsachterstand",
        "keywords: [schuld, aanmaning, betalingsachterstand",
    )
    book = write(tmp_path / "changed.yaml", changed)
    with open_project(project_dir) as project:
        report = suggest(project, codebook=book)
    assert report.work is not None
    assert report.work.tokenised == 0  # stored tokens, no spaCy
    assert report.work.matched == report.segments
    assert not report.work.refitted  # definitions and examples did not change
    fresh = build_project(tmp_path / "fresh", codebook=book)
    assert suggested(project_dir) == suggested(fresh)


def test_an_example_change_refits_the_space_but_matches_nothing_again(
    built: Path, tmp_path: Path
) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    text = CODING_YAML.read_text(encoding="utf-8")
    assert "examples:" in text
    book = write(
        tmp_path / "changed.yaml",
        text.replace("examples:", "examples:\n              - Ik zie al weken niemand meer.", 1),
    )
    with open_project(project_dir) as project:
        report = suggest(project, codebook=book)
    assert report.work is not None
    assert report.work.matched == 0 and report.work.refitted
    fresh = build_project(tmp_path / "fresh", codebook=book)
    assert _scores(project_dir) == _scores(fresh)


def test_a_new_transcript_is_folded_into_the_kept_space(built: Path, tmp_path: Path) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    with open_project(project_dir) as project:
        segments = len(coded_units(project))
    extra = tmp_path / "extra"
    shutil.copytree(SUGGEST_CORPUS, extra)
    (extra / "metadata.csv").unlink()
    text = (SUGGEST_CORPUS / "int_schulden.txt").read_text(encoding="utf-8")
    (extra / "int_schulden_2.txt").write_text(text, encoding="utf-8")
    from qualcode.pipeline import run

    result = run([extra], out=project_dir)
    assert result.ingest.added == ["int_schulden_2.txt"]
    assert sorted(result.ingest.unchanged) == ["fg_ouderen.txt", "int_schulden.txt"]
    work = result.suggest.work
    assert work is not None
    new = result.suggest.segments - segments
    assert new > 0 and work.matched == work.tokenised == new
    # the copy adds more than a tenth of the passages: refitted; one more segment would not be
    assert work.refitted == (new > space.REFIT_SHARE * segments)


def test_a_small_addition_keeps_the_space_and_refit_gives_the_fresh_result(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(space, "REFIT_SHARE", 0.5)  # the fixture has only 11 passages
    project_dir = shutil.copytree(built, tmp_path / "p")
    with open_project(project_dir) as project:
        segments = coded_units(project)
        with project.transaction() as conn:  # as if one passage had been added since the fit
            conn.execute("DELETE FROM segment_vectors WHERE segment_id = ?", (segments[0].id,))
        report = suggest(project)
        assert report.work is not None
        assert not report.work.refitted and report.work.folded_in == 1
        again = suggest(project)  # the folded-in passage is remembered as such
        assert again.work is not None and (again.work.refitted, again.work.folded_in) == (False, 0)
        refitted = suggest(project, refit=True)
        assert refitted.work is not None and refitted.work.refitted
    fresh = build_project(tmp_path / "fresh")
    assert _scores(project_dir) == _scores(fresh)


def test_accepted_codes_survive_incremental_runs(built: Path, tmp_path: Path) -> None:
    from coding_helpers import add_coding

    project_dir = shutil.copytree(built, tmp_path / "p")
    add_coding(project_dir, "fg_ouderen.txt", 2, "impact/sociaal/eenzaamheid", "accepted")
    before = codings(project_dir, "anna")
    with open_project(project_dir) as project:
        suggest(project)
    assert codings(project_dir, "anna") == before


def test_workers_give_what_one_process_gives(built: Path) -> None:
    from qualcode.suggest import fit_lexical

    with open_project(built) as project:
        segments = coded_units(project)
        pipeline = load_pipeline(project.settings().get("spacy_model"))
    from qualcode.codebook import load_codebook

    lexical = fit_lexical(load_codebook(CODING_YAML), pipeline)
    items = [(s.text, None) for s in segments] * 3
    one = list(features.analyse(pipeline, lexical, items, workers=1))
    two = list(features.analyse(pipeline, lexical, items, workers=2))
    assert one == two
    assert any(matches for _, _, matches in one)


def test_unchanged_files_are_not_parsed_again(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qualcode.ingest as ingest

    project_dir = shutil.copytree(built, tmp_path / "p")
    parsed: list[str] = []
    original = ingest.read_transcript

    def counting(path: Path, **kwargs: object) -> object:
        parsed.append(Path(path).name)
        return original(path, **kwargs)

    monkeypatch.setattr(ingest, "read_transcript", counting)
    with open_project(project_dir) as project:
        report = ingest.ingest_files(
            project, [SUGGEST_CORPUS], metadata=SUGGEST_CORPUS / "metadata.csv"
        )
    assert sorted(report.unchanged) == ["fg_ouderen.txt", "int_schulden.txt"]
    assert parsed == []


def test_pseudonymising_drops_the_stored_features(built: Path, tmp_path: Path) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    with open_project(project_dir) as project:
        with project.transaction() as conn:
            features.clear(conn)
        for table in ("segment_features", "segment_vectors", "similarity_spaces"):
            assert project.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
        suggest(project)  # computed again
        assert project.conn.execute("SELECT count(*) FROM segment_features").fetchone()[0] > 0


def test_the_stored_space_holds_no_pickle(built: Path) -> None:
    import io

    import numpy as np

    with connect(built) as conn:
        (data,) = conn.execute("SELECT data FROM similarity_spaces").fetchone()
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        assert {"vocabulary", "idf", "part_vectors"} <= set(arrays.files)


def test_a_model_folder_is_named_from_its_meta_without_loading_spacy(tmp_path: Path) -> None:
    import spacy

    nlp = spacy.blank("nl")
    nlp.add_pipe("sentencizer")
    nlp.meta["name"] = "test_pipeline"
    nlp.meta["version"] = "1.2.3"
    nlp.to_disk(tmp_path / "model")
    info = pipeline_info(str(tmp_path / "model"))
    assert not info.fallback
    assert info.name == "nl_test_pipeline-1.2.3+tok1"  # + our tokenizer rules
    loaded = load_pipeline(str(tmp_path / "model"))
    assert loaded.name == info.name and [t.text for t in loaded.nlp("Ik ben moe.")][-1] == "."
    assert pipeline_info("not_a_model_xyz").fallback


def test_loading_the_pipeline_does_not_import_torch() -> None:
    code = (
        "import sys; from qualcode.nlp import load_pipeline; load_pipeline(None);"
        "from qualcode.codebook import load_codebook; load_codebook(sys.argv[1]);"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(CODING_YAML)], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_a_run_on_an_unchanged_study_rewrites_no_export(built: Path, tmp_path: Path) -> None:
    from coding_helpers import add_coding

    from qualcode.pipeline import run

    project_dir = shutil.copytree(built, tmp_path / "p")
    first = run([SUGGEST_CORPUS], out=project_dir)
    stamps = {name: path.stat().st_mtime_ns for name, path in first.files.items()}
    again = run([SUGGEST_CORPUS], out=project_dir)
    assert sorted(again.unchanged) == sorted(stamps)
    assert {n: p.stat().st_mtime_ns for n, p in again.files.items()} == stamps
    (project_dir / "coded_segments.xlsx").unlink()  # a missing file is written again
    assert "coded_segments.xlsx" not in run([SUGGEST_CORPUS], out=project_dir).unchanged
    add_coding(project_dir, "fg_ouderen.txt", 2, "impact/sociaal/eenzaamheid", "accepted")
    assert run([SUGGEST_CORPUS], out=project_dir).unchanged == []  # the codings changed


def test_tables_written_in_a_forked_process_are_the_same(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qualcode.pipeline as pipeline

    project_dir = shutil.copytree(built, tmp_path / "p")
    expected = (project_dir / "coded_segments.csv").read_bytes()
    for name in ("coded_segments.csv", "coded_segments.xlsx", "report.html"):
        (project_dir / name).unlink()
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ROWS", 0)
    with open_project(project_dir) as project:
        exports = pipeline.write_exports(project, project_dir)
    assert exports.unchanged == [] and all(path.exists() for path in exports.files.values())
    assert (project_dir / "coded_segments.csv").read_bytes() == expected


def test_an_error_in_the_forked_writer_reaches_the_caller(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qualcode.pipeline as pipeline
    from qualcode.errors import QualcodeError

    project_dir = shutil.copytree(built, tmp_path / "p")
    (project_dir / "coded_segments.xlsx").unlink()
    (project_dir / "report.html").unlink()
    (project_dir / "coded_segments.xlsx").mkdir()  # cannot be replaced by a file
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ROWS", 0)
    with open_project(project_dir) as project, pytest.raises((QualcodeError, OSError)):
        pipeline.write_exports(project, project_dir)


def test_run_without_the_report_says_when_the_old_one_is_out_of_date(
    built: Path, tmp_path: Path
) -> None:
    from coding_helpers import add_coding, invoke

    from qualcode.pipeline import run

    project_dir = shutil.copytree(built, tmp_path / "p")
    assert run([SUGGEST_CORPUS], out=project_dir, report=False).outdated == []
    add_coding(project_dir, "fg_ouderen.txt", 2, "impact/sociaal/eenzaamheid", "accepted")
    result = invoke("run", SUGGEST_CORPUS, "--out", project_dir, "--no-report")
    assert result.exit_code == 0
    assert "report.html  (from an earlier run: 'qualcode report" in result.output
    assert invoke("report", "-p", project_dir).exit_code == 0
    assert run([SUGGEST_CORPUS], out=project_dir, report=False).outdated == []


def test_a_table_too_long_for_excel_is_written_as_csv_only(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coding_helpers import add_coding, assert_one_line_error, invoke

    import qualcode.export.tables as tables

    project_dir = shutil.copytree(built, tmp_path / "p")
    add_coding(project_dir, "fg_ouderen.txt", 2, "impact/sociaal/eenzaamheid", "accepted")
    before = (project_dir / "coded_segments.csv").read_bytes()
    monkeypatch.setattr(tables, "EXCEL_MAX_ROWS", 5)  # Excel's is 1,048,576
    result = invoke("run", SUGGEST_CORPUS, "--out", project_dir)
    assert result.exit_code == 0
    assert "Note: coded_segments.xlsx not written" in result.stderr
    assert (project_dir / "coded_segments.csv").read_bytes() != before  # has the new coding
    assert not (project_dir / "coded_segments.xlsx").exists()  # not left out of date
    error = invoke("export", "segments", "-p", project_dir, "-o", tmp_path / "x.xlsx")
    assert_one_line_error(error, "do not fit in one Excel sheet")


def test_an_error_in_a_worker_reaches_the_caller_and_keeps_finished_batches(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qualcode.suggest.lexical import LexicalSuggester

    project_dir = shutil.copytree(built, tmp_path / "p")
    with open_project(project_dir) as project:
        with project.transaction() as conn:
            features.clear(conn)
        segments = coded_units(project)
        original = LexicalSuggester.match
        poisoned = segments[-1].text

        def failing(self: LexicalSuggester, text: str, tokens: object) -> object:
            if text == poisoned:
                raise RuntimeError("worker failed")
            return original(self, text, tokens)

        monkeypatch.setattr(LexicalSuggester, "match", failing)  # the forked workers inherit it
        monkeypatch.setattr(features, "CHUNK", 2)
        monkeypatch.setattr(features, "WRITE_BATCH", 2)
        monkeypatch.setattr(features, "worker_count", lambda n: 2)
        with pytest.raises(RuntimeError, match="worker failed"):
            suggest(project)
        kept = project.conn.execute("SELECT count(*) FROM segment_features").fetchone()[0]
        assert 0 < kept < len(segments)  # the batches before the failure were kept
        monkeypatch.setattr(LexicalSuggester, "match", original)
        report = suggest(project)
        assert report.work is not None and report.work.matched == len(segments) - kept


def test_a_damaged_stored_space_is_fitted_again(built: Path, tmp_path: Path) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    before = _scores(project_dir)
    with connect(project_dir) as conn:
        conn.execute("UPDATE similarity_spaces SET data = ?", (b"PK\x03\x04 not an archive",))
    with open_project(project_dir) as project:
        report = suggest(project)
    assert report.work is not None and report.work.refitted
    assert _scores(project_dir) == before


@pytest.mark.parametrize("value", ["{broken", "[1, 2]", "null"])
def test_damaged_stored_matches_are_computed_again(built: Path, tmp_path: Path, value: str) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    before = _scores(project_dir)
    with connect(project_dir) as conn:
        damaged = conn.execute("SELECT segment_id FROM segment_features LIMIT 2").fetchall()
        conn.executemany(
            "UPDATE segment_features SET lexical = ? WHERE segment_id = ?",
            [(value, sid) for (sid,) in damaged],
        )
    with open_project(project_dir) as project:
        report = suggest(project)
    assert report.work is not None
    assert (report.work.tokenised, report.work.matched) == (0, 2)  # tokens were fine
    assert _scores(project_dir) == before


@pytest.mark.parametrize("value", ["[[0,", "[[0]]", "{}"])
def test_damaged_stored_tokens_are_made_again_and_the_report_still_quotes(
    built: Path, tmp_path: Path, value: str
) -> None:
    project_dir = shutil.copytree(built, tmp_path / "p")
    before = _scores(project_dir)
    with connect(project_dir) as conn:
        damaged = [r[0] for r in conn.execute("SELECT segment_id FROM segment_nlp LIMIT 3")]
        conn.executemany(
            "UPDATE segment_nlp SET tokens = ? WHERE segment_id = ?",
            [(value, sid) for sid in damaged],
        )
    # the report reads the stored tokens for its quotes: damaged ones are plain words there
    result = invoke("report", "--project", project_dir, "-o", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    with connect(project_dir) as conn:
        conn.execute("DELETE FROM segment_features")  # so that suggest needs the tokens
    with open_project(project_dir) as project:
        report = suggest(project)
    assert report.work is not None and report.work.tokenised == 3
    assert _scores(project_dir) == before
    with connect(project_dir) as conn:
        repaired = conn.execute(
            f"SELECT count(*) FROM segment_nlp WHERE tokens = ? AND segment_id IN"
            f" ({','.join('?' * len(damaged))})",
            (value, *damaged),
        ).fetchone()[0]
    assert repaired == 0


def test_a_broken_model_folder_gives_a_one_line_error(built: Path, tmp_path: Path) -> None:
    import spacy
    from coding_helpers import assert_one_line_error, invoke

    project_dir = shutil.copytree(built, tmp_path / "p")
    empty = tmp_path / "geen_model"
    empty.mkdir()
    with open_project(project_dir) as project:
        project.update_settings(spacy_model=str(empty))
    (project_dir / "coded_segments.csv").unlink()
    with connect(project_dir) as conn:
        conn.execute("DELETE FROM segment_features")  # so that the pipeline is needed
    assert_one_line_error(invoke("suggest", "-p", project_dir), "without a readable meta.json")
    broken = tmp_path / "kapot_model"
    spacy.blank("nl").to_disk(broken)
    (broken / "config.cfg").write_text('[nlp]\nlang = "nl"\npipeline = ["x"]\n')
    with open_project(project_dir) as project:
        project.update_settings(spacy_model=str(broken))
    assert_one_line_error(invoke("suggest", "-p", project_dir), "cannot load the spaCy model")


def test_without_worker_processes_everything_is_done_in_one(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import multiprocessing.context

    import qualcode.pipeline as pipeline

    def no_fork(*args: object, **kwargs: object) -> object:
        raise OSError("Resource temporarily unavailable")

    monkeypatch.setattr(multiprocessing.context.ForkContext, "Pool", no_fork)
    monkeypatch.setattr(pipeline, "BACKGROUND_MIN_ROWS", 0)
    monkeypatch.setattr(features, "worker_count", lambda n: 2)
    project_dir = shutil.copytree(built, tmp_path / "p")
    expected = _scores(project_dir)
    with connect(project_dir) as conn:
        conn.execute("DELETE FROM segment_features")
    for name in ("coded_segments.csv", "coded_segments.xlsx", "report.html"):
        (project_dir / name).unlink()
    result = pipeline.run([SUGGEST_CORPUS], out=project_dir)
    assert result.suggest.work is not None
    assert result.suggest.work.matched == result.suggest.segments
    assert all(path.exists() for path in result.files.values())
    assert _scores(project_dir) == expected
