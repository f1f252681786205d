"""Scale benchmarks (issue 7): qualcode on 100k, 300k and 1M words of generated transcripts.

What it measures, each in fresh processes (the figures go into docs/benchmarks.md):

- throughput: ``qualcode run`` (ingest + suggest + exports) against a bare spaCy pass
  (``load_pipeline(None).nlp.pipe`` over the same turns, nothing else), back to back so that
  both see the same load on this shared machine; time per stage, words per second;
- memory: the peak resident memory of each of those processes, and how it grows with size;
- re-runs: ``qualcode suggest`` after a codebook change, and ``qualcode run`` again after one
  transcript is added to a 100-transcript project, both against that project's first run;
- start-up: ``qualcode --help`` and ``qualcode documents`` on the largest project;
- topics: ``qualcode topics`` on the largest project, with its own split of the time
  (embedding, UMAP, HDBSCAN, representation) from the run's summary;
- with ``--profile``: where ``qualcode run`` spends its time at each size (py-spy when it is
  installed, else cProfile), written to ``outputs/bench/profiles/``.

Corpora are generated with ``make_corpus.py`` under ``outputs/bench/`` (git-ignored) and reused
when they exist. The load average (``os.getloadavg``) is recorded next to every figure.

    python benchmarks/scale.py              # 100k, 300k, 1M words: ~30 min, idle 2-core machine
    python benchmarks/scale.py --quick      # 20k and 50k words, once each: a few minutes
    python benchmarks/scale.py --sizes 100k,300k --repeat 2 --only throughput,startup
    python benchmarks/scale.py --only profile --sizes 1m   # py-spy/cProfile of `qualcode run`

Each measurement is a child process (``scale.py _child MODE RESULT.json ...``) that writes its
timings and peak memory to a JSON file; the results of a whole run go to
``<out>/scale-results.json`` and the tables to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

if TYPE_CHECKING:
    from make_corpus import CorpusInfo

DEFAULT_OUT = ROOT / "outputs" / "bench"
DEFAULT_SIZES = (100_000, 300_000, 1_000_000)
QUICK_SIZES = (20_000, 50_000)
RERUN_DOCUMENTS = 100
QUICK_RERUN_DOCUMENTS = 10
MEASUREMENTS = ("throughput", "reruns", "startup", "topics", "profile")
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
# Start-up is timed on a bare interpreter that runs the CLI and reads its own peak memory,
# nothing of this script: what a user's `qualcode --help` costs.
STARTUP = (
    "import sys\n"
    "from qualcode.cli import cli\n"
    "try:\n"
    "    cli.main(args=sys.argv[2:], prog_name='qualcode')\n"
    "except SystemExit:\n"
    "    pass\n"
    "try:\n"
    "    kb = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]\n"
    "except OSError:  # not Linux\n"
    "    import resource\n"
    "    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "open(sys.argv[1], 'w').write('{\"peak_mb\": %d}' % (int(kb) // 1024))\n"
)

# Library functions whose time the child process adds up per stage of `qualcode run`/`suggest`:
# (module, attribute, stage name). Wrapping the module attribute catches every call, because
# qualcode imports these functions inside the calling function or looks them up at call time.
STAGES = (
    ("qualcode.ingest", "ingest_files", "ingest"),
    ("qualcode.suggest", "suggest", "suggest"),
    ("qualcode.suggest.features", "update", "suggest: tokenise + match new segments"),
    ("qualcode.suggest.features", "stored", "suggest: load stored matches and lemmas"),
    ("qualcode.suggest.space", "fitted", "suggest: similarity space (fit or fold in)"),
    ("qualcode.suggest", "_combine", "suggest: combine scores"),
    ("qualcode.suggest", "suggest_from_scores", "suggest: learn + select"),
    ("qualcode.pipeline", "write_exports", "exports"),
    ("qualcode.export.segments", "coded_segment_rows", "exports: rows"),
    ("qualcode.export.report", "write_report", "exports: report.html"),
    # the CSV and Excel files are written in a forked process while the report is built:
    # their time is the part of "exports" that the report does not cover
)


# ---------------------------------------------------------------- child processes


def _peak_mb() -> float:
    """This process's own peak resident memory. Linux's VmHWM starts afresh at exec, whereas
    ``ru_maxrss`` keeps the high-water mark of the parent that forked the process."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _wrap_stages(
    seconds: dict[str, float], cpu: dict[str, float], peak: dict[str, float], command: str
) -> None:
    """Time every stage of STAGES (wall and CPU) and note the peak memory when it ends."""
    import functools
    import importlib

    for module_name, attribute, stage in STAGES:
        if command == "suggest" and not module_name.startswith("qualcode.suggest"):
            continue
        module = importlib.import_module(module_name)
        original = getattr(module, attribute)

        def timed(*args: Any, _f: Any = original, _stage: str = stage, **kwargs: Any) -> Any:
            name = _stage
            start, start_cpu = time.perf_counter(), time.process_time()
            try:
                return _f(*args, **kwargs)
            finally:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - start
                cpu[name] = cpu.get(name, 0.0) + time.process_time() - start_cpu
                peak[name] = _peak_mb()

        setattr(module, attribute, functools.wraps(original)(timed))
    if command != "run":
        return
    # pipeline.py imported these two by name when it was loaded: point it at the wrappers
    import qualcode.ingest
    import qualcode.pipeline
    import qualcode.suggest

    qualcode.pipeline.ingest_files = qualcode.ingest.ingest_files  # type: ignore[attr-defined]
    qualcode.pipeline.suggest = qualcode.suggest.suggest  # type: ignore[attr-defined]


def child_cli(out: str, args: list[str]) -> None:
    """Run one qualcode command in this process; write its time per stage and peak memory."""
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    cpu: dict[str, float] = {}
    peak: dict[str, float] = {}
    if args and args[0] in ("run", "suggest"):
        _wrap_stages(seconds, cpu, peak, args[0])
    from qualcode.cli import cli

    code: Any = 0
    cli_start = time.perf_counter()
    try:
        cli.main(args=args, prog_name="qualcode")
    except SystemExit as exc:
        code = exc.code
    finished = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # forked workers (tokenising and matching, the export writer) count too
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "exit": code or 0,
        "seconds": finished - started,
        "command_seconds": finished - cli_start,
        "cpu_seconds": usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime,
        "cpu_self_seconds": usage.ru_utime + usage.ru_stime,
        "cpu_children_seconds": children.ru_utime + children.ru_stime,
        "children_peak_mb": children.ru_maxrss / 1024,
        "stages": seconds,
        "stages_cpu": cpu,
        "peak_after": peak,
        "peak_mb": _peak_mb(),
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")
    sys.exit(code or 0)


def corpus_turns(folder: Path) -> list[str]:
    """Every turn's spoken text, read with qualcode's readers (what ingest stores)."""
    from qualcode.ingest import collect_files, read_transcript
    from qualcode.ingest.metadata import load_metadata

    meta = load_metadata(folder / "metadata.csv")
    texts = []
    for path in collect_files([folder]):
        known = [s.label for s in meta.speakers_of(path.name).values()]
        for turn in read_transcript(path, known_speakers=known).turns:
            texts.append("\n\n".join(turn.paragraphs))
    return texts


def child_bare(out: str, folder: str, model: str = "") -> None:
    """The baseline: load the same Dutch pipeline and run ``nlp.pipe`` over every turn."""
    texts = corpus_turns(Path(folder))
    start, start_cpu = time.perf_counter(), time.process_time()
    from qualcode.nlp import load_pipeline

    pipeline = load_pipeline(model or None)
    loaded, loaded_cpu = time.perf_counter(), time.process_time()
    tokens = sum(len(doc) for doc in pipeline.nlp.pipe(texts, batch_size=256))
    finished, finished_cpu = time.perf_counter(), time.process_time()
    result = {
        "load_seconds": loaded - start,
        "pipe_seconds": finished - loaded,
        "load_cpu": loaded_cpu - start_cpu,
        "pipe_cpu": finished_cpu - loaded_cpu,
        "turns": len(texts),
        "tokens": tokens,
        "pipeline": pipeline.description,
        "peak_mb": _peak_mb(),
    }
    Path(out).write_text(json.dumps(result), encoding="utf-8")


# ---------------------------------------------------------------- the parent


@dataclass
class Sample:
    """One measured child process."""

    seconds: float  # wall time of the whole process, start-up included
    peak_mb: float
    load: float  # 1-minute load average just before it started
    detail: dict[str, Any] = field(default_factory=dict)


def load_average() -> float:
    return round(os.getloadavg()[0], 2)


def _child(mode: str, args: Sequence[str], *, log: Path | None = None) -> Sample:
    handle, name = tempfile.mkstemp(prefix="qualcode-bench-", suffix=".json")
    os.close(handle)
    result = Path(name)
    if mode == "startup":
        command = [sys.executable, "-c", STARTUP, str(result), *args]
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "_child", mode, str(result)]
        command += args
    load = load_average()
    start = time.perf_counter()
    with open(log or os.devnull, "a", encoding="utf-8") as sink:
        done = subprocess.run(command, cwd=ROOT, env=ENV, stdout=sink, stderr=sink)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): qualcode {' '.join(args)} (see {log})")
    detail = json.loads(result.read_text(encoding="utf-8"))
    result.unlink()
    return Sample(seconds, detail.pop("peak_mb"), load, detail)


def qualcode(args: Sequence[str], log: Path | None = None) -> Sample:
    return _child("cli", args, log=log)


# A spaCy model (package or folder) for both the bare pass and `qualcode run` instead of the
# offline fallback (--model; e.g. the stand-in of benchmarks/standin_pipeline.py).
MODEL: str | None = None


def bare_spacy(folder: Path) -> Sample:
    return _child("bare", [str(folder), MODEL or ""])


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def size_name(words: int) -> str:
    if words >= 1_000_000 and words % 1_000_000 == 0:
        return f"{words // 1_000_000}M"
    return f"{words // 1000}k" if words % 1000 == 0 else str(words)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def corpus(out: Path, words: int | None = None, documents: int | None = None) -> CorpusInfo:
    import make_corpus

    name = f"corpus-w{words}" if words else f"corpus-d{documents}"
    return make_corpus.ensure(out / name, words=words, documents=documents)


def run_args(folder: Path, project: Path) -> list[str]:
    return ["run", str(folder), "--out", str(project), "--metadata", str(folder / "metadata.csv")]


def fresh_run(folder: Path, project: Path, log: Path) -> Sample:
    shutil.rmtree(project, ignore_errors=True)
    if MODEL:
        from qualcode.store import init_project

        with init_project(project) as created:
            created.update_settings(spacy_model=MODEL)
    return qualcode(run_args(folder, project), log)


def project_counts(project: Path) -> dict[str, int]:
    import sqlite3

    conn = sqlite3.connect(project / "qualcode.db")
    try:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "documents": one("SELECT count(*) FROM documents"),
            "words": one("SELECT coalesce(sum(words), 0) FROM documents"),
            "segments": one("SELECT count(*) FROM segments"),
            "lemmatised": one("SELECT count(*) FROM segment_nlp"),
            "suggestions": one("SELECT count(*) FROM codings WHERE status = 'suggested'"),
        }
    finally:
        conn.close()


# ---------------------------------------------------------------- measurements


def _stage_medians(runs: Sequence[Sample], key: str, total: str) -> dict[str, float]:
    """Median seconds per stage; what no stage holds (Python start-up, imports, creating the
    project, reading the codebook) is the total less ingest, suggest and the exports."""
    names = list(dict.fromkeys(k for r in runs for k in r.detail[key]))
    out = {n: median([r.detail[key].get(n, 0.0) for r in runs]) for n in names}
    outside = []
    for r in runs:
        stages = r.detail[key]
        inside = sum(v for k, v in stages.items() if ":" not in k)
        outside.append(r.detail[total] - inside)
    out["start-up, imports, codebook"] = median(outside)
    return out


def measure_throughput(out: Path, sizes: Sequence[int], repeat: int, log: Path) -> list[dict]:
    """Per size: the bare spaCy pass and `qualcode run`, back to back, ``repeat`` times (at
    most twice for a million words or more)."""
    rows = []
    for words in sizes:
        info = corpus(out, words=words)
        project = out / (f"project-w{words}" + ("-model" if MODEL else ""))
        pairs = []
        for _ in range(min(repeat, 2) if words >= 1_000_000 else repeat):
            bare = bare_spacy(info.folder)
            run = fresh_run(info.folder, project, log)
            pairs.append((bare, run))
            print(
                f"  {size_name(words)}: spaCy {bare.detail['pipe_seconds']:.1f} s, "
                f"run {run.seconds:.1f} s (load {bare.load}/{run.load})",
                file=sys.stderr,
            )
        counts = project_counts(project)
        bares = [b for b, _ in pairs]
        runs = [r for _, r in pairs]
        run_s = median([r.seconds for r in runs])
        pipe_s = median([b.detail["pipe_seconds"] for b in bares])
        rows.append(
            {
                "size": size_name(words),
                "target_words": words,
                **counts,
                "docx": info.docx,
                "repeats": len(pairs),
                "bare_pipe_s": pipe_s,
                "bare_load_s": median([b.detail["load_seconds"] for b in bares]),
                "bare_pipe_cpu_s": median([b.detail["pipe_cpu"] for b in bares]),
                "bare_peak_mb": max(b.peak_mb for b in bares),
                "run_s": run_s,
                "run_cpu_s": median([r.detail["cpu_seconds"] for r in runs]),
                "run_peak_mb": max(r.peak_mb for r in runs),
                # a forked worker's own peak: it shares the parent's pages until it writes them
                "worker_peak_mb": max(r.detail.get("children_peak_mb", 0.0) for r in runs),
                "ratio": median([r.seconds / b.detail["pipe_seconds"] for b, r in pairs]),
                "ratio_cpu": median(
                    [r.detail["cpu_seconds"] / b.detail["pipe_cpu"] for b, r in pairs]
                ),
                "words_per_s": counts["words"] / run_s,
                "bare_words_per_s": counts["words"] / pipe_s,
                "stages": _stage_medians(runs, "stages", "seconds"),
                "stages_cpu": _stage_medians(runs, "stages_cpu", "cpu_self_seconds"),
                "loads": [[b.load, r.load] for b, r in pairs],
                "runs_s": [r.seconds for r in runs],
                "bare_pipe_all_s": [b.detail["pipe_seconds"] for b in bares],
                "pipeline": bares[0].detail["pipeline"],
                "peak_after": max(runs, key=lambda r: r.peak_mb).detail.get("peak_after", {}),
            }
        )
    return rows


def changed_codebook(target: Path) -> Path:
    """The default codebook with one keyword more: a codebook change a researcher makes."""
    import yaml

    data = yaml.safe_load((ROOT / "codebooks" / "impact.yaml").read_text(encoding="utf-8"))

    def first_with_keywords(codes: list[dict]) -> dict | None:
        for code in codes:
            if code.get("keywords"):
                return code
            found = first_with_keywords(code.get("children", []))
            if found:
                return found
        return None

    code = first_with_keywords(data["codes"])
    assert code is not None
    code["keywords"].append("thuiszitten")
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


def _split_corpus(info: Any, base: Path) -> tuple[Path, list[str]]:
    """Copy all transcripts but the last into ``base`` (with their metadata rows); returns the
    last file and the full metadata text, to add it later."""
    import csv

    files = sorted(p for p in info.folder.iterdir() if p.suffix in (".txt", ".docx"))
    extra = max(files, key=lambda p: int("".join(c for c in p.stem.split("_")[0] if c.isdigit())))
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    for path in files:
        if path != extra:
            shutil.copy2(path, base / path.name)
    with (info.folder / "metadata.csv").open(encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(extra.name + ",")]
    (base / "metadata.csv").write_text("".join(kept), encoding="utf-8")
    assert list(csv.reader(kept))  # still a valid CSV
    return extra, lines


def measure_reruns(out: Path, documents: int, repeat: int, log: Path) -> dict:
    """A project of ``documents`` transcripts: its first run, `qualcode suggest` after a
    codebook change, `qualcode run` again with nothing new and with one transcript added."""
    info = corpus(out, documents=documents + 1)
    base = out / "rerun-corpus"
    extra, full_metadata = _split_corpus(info, base)
    project = out / "project-rerun"
    snapshot = out / "project-rerun-before"
    repeat = min(repeat, 2)  # each of these is a run over a study of ~400k words
    firsts = [fresh_run(base, project, log) for _ in range(repeat)]
    before = project_counts(project)
    shutil.rmtree(snapshot, ignore_errors=True)
    shutil.copytree(project, snapshot)
    book = changed_codebook(out / "impact-changed.yaml")
    suggests = [
        qualcode(["suggest", "-p", str(project), "--codebook", str(book)], log)
        for _ in range(repeat)
    ]
    after_suggest = project_counts(project)
    unchanged = []
    added: dict[str, list[Sample]] = {"": [], "--no-report": []}
    for _ in range(repeat):
        # each from the project as the first run left it (the suggest above changed its
        # codings, so its exports were out of date: a run would rightly write them again)
        shutil.rmtree(project)
        shutil.copytree(snapshot, project)
        unchanged.append(qualcode(run_args(base, project), log))
        for flag, samples in added.items():
            shutil.rmtree(project)
            shutil.copytree(snapshot, project)
            shutil.copy2(extra, base / extra.name)
            (base / "metadata.csv").write_text("".join(full_metadata), encoding="utf-8")
            samples.append(qualcode(run_args(base, project) + ([flag] if flag else []), log))
            after_add = project_counts(project)
            (base / extra.name).unlink()
            _split_corpus(info, base)
    full_s = median([s.seconds for s in firsts])
    full_cpu = median([s.detail["cpu_seconds"] for s in firsts])

    def row(name: str, samples: list[Sample]) -> dict:
        seconds = median([s.seconds for s in samples])
        cpu = median([s.detail["cpu_seconds"] for s in samples])
        return {
            "step": name,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "share_of_full_run": seconds / full_s,
            "cpu_share_of_full_run": cpu / full_cpu,
            "peak_mb": max(s.peak_mb for s in samples),
            "loads": [s.load for s in samples],
            "repeats": len(samples),
            "stages": _stage_medians(samples, "stages", "seconds"),
            "stages_cpu": _stage_medians(samples, "stages_cpu", "cpu_self_seconds"),
        }

    return {
        "documents": documents,
        "words": before["words"],
        "segments": before["segments"],
        "lemmatised_before": before["lemmatised"],
        "lemmatised_after_suggest": after_suggest["lemmatised"],
        "lemmatised_after_add": after_add["lemmatised"],
        "added_document": extra.name,
        "rows": [
            row(f"qualcode run, {documents} transcripts (first run)", firsts),
            row("qualcode suggest after a codebook change", suggests),
            row("qualcode run again, nothing changed", unchanged),
            row("qualcode run again, one transcript added", added[""]),
            row("qualcode run --no-report again, one transcript added", added["--no-report"]),
        ],
    }


def measure_startup(project: Path | None, repeat: int) -> list[dict]:
    commands: list[tuple[str, list[str]]] = [("qualcode --help", ["--help"])]
    if project is not None:
        commands.append(("qualcode documents (largest project)", ["documents", "-p", str(project)]))
    rows = []
    for name, args in commands:
        samples = [_child("startup", args) for _ in range(max(repeat, 5))]
        rows.append(
            {
                "step": name,
                "seconds": median([s.seconds for s in samples]),
                "peak_mb": max(s.peak_mb for s in samples),
                "loads": [s.load for s in samples],
            }
        )
    return rows


def measure_topics(project: Path, repeat: int, log: Path) -> dict:
    import sqlite3

    samples, summaries = [], []
    for _ in range(repeat):
        samples.append(qualcode(["topics", "-p", str(project), "--verbose"], log))
        conn = sqlite3.connect(project / "qualcode.db")
        try:
            raw = conn.execute(
                "SELECT summary FROM runs WHERE command = 'topics' ORDER BY id DESC LIMIT 1"
            ).fetchone()[0]
        finally:
            conn.close()
        summaries.append(json.loads(raw))
    seconds = {
        k: median([s["seconds"].get(k, 0.0) for s in summaries]) for k in summaries[0]["seconds"]
    }
    return {
        "project": project.name,
        "passages": summaries[0]["passages"],
        "topics": summaries[0]["topics"],
        "outliers": summaries[0]["outliers"],
        "embedding": summaries[0].get("embedding"),
        "seconds": median([s.seconds for s in samples]),
        "split": seconds,
        "peak_mb": max(s.peak_mb for s in samples),
        "loads": [s.load for s in samples],
        "repeats": len(samples),
    }


# ---------------------------------------------------------------- profiles


def _frame_name(frame: str) -> str:
    """``score_all (/…/qualcode/suggest/__init__.py:172)`` → ``score_all (qualcode/suggest/
    __init__.py)``: one name per function, whatever line was executing."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


def _informative(name: str) -> bool:
    """A qualcode function other than the command line and `pipeline.run`, which hold all."""
    return (
        "(qualcode/" in name
        and "(qualcode/cli/" not in name
        and "(qualcode/__main__" not in name
        and name != "run (qualcode/pipeline.py)"
    )


def summarise_stacks(raw: Path, top: int = 25) -> dict:
    """Self and inclusive share of each function in py-spy's collapsed stacks."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_frame_name(f) for f in stack.split(";") if f]
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + count

    def shares(counts: dict[str, int]) -> list[tuple[str, float]]:
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])[:top]
        return [(name, round(n / total, 4)) for name, n in ranked]

    qualcode_only = {k: v for k, v in inclusive.items() if _informative(k)}
    return {"samples": total, "self": shares(own), "inclusive": shares(qualcode_only)}


def summarise_cprofile(path: Path, top: int = 25) -> dict:
    import pstats

    stats = pstats.Stats(str(path))
    total = max(v[3] for v in stats.stats.values())  # cumulative time of the outermost call

    def name(func: tuple[str, int, str]) -> str:
        return _frame_name(f"{func[2]} ({func[0]}:{func[1]})")

    entries = stats.stats.items()
    by_self = sorted(entries, key=lambda kv: -kv[1][2])[:top]
    ours = [kv for kv in entries if _informative(name(kv[0]))]
    by_cum = sorted(ours, key=lambda kv: -kv[1][3])[:top]
    return {
        "seconds": total,
        "self": [(name(f), round(v[2] / total, 4)) for f, v in by_self],
        "inclusive": [(name(f), round(v[3] / total, 4)) for f, v in by_cum],
    }


def profile_runs(out: Path, sizes: Sequence[int], log: Path) -> list[dict]:
    """`qualcode run` at each size under py-spy (sampling, little overhead) when it is
    installed, else under cProfile (slower: the shares matter, not the seconds)."""
    folder = out / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    rows = []
    for words in sizes:
        info = corpus(out, words=words)
        project = out / f"profile-w{words}"
        shutil.rmtree(project, ignore_errors=True)
        cli = [sys.executable, "-m", "qualcode", *run_args(info.folder, project)]
        load = load_average()
        start = time.perf_counter()
        if spy:
            raw = folder / f"run-{size_name(words)}.pyspy.txt"
            command = [spy, "record", "--idle", "-r", "25", "-f", "raw", "-o", str(raw), "--"]
            with open(log, "a", encoding="utf-8") as sink:
                subprocess.run([*command, *cli], cwd=ROOT, env=ENV, stdout=sink, stderr=sink)
            summary = summarise_stacks(raw)
            tool = "py-spy"
        else:
            prof = folder / f"run-{size_name(words)}.prof"
            command = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "qualcode"]
            with open(log, "a", encoding="utf-8") as sink:
                subprocess.run(
                    [*command, *cli[3:]], cwd=ROOT, env=ENV, stdout=sink, stderr=sink, check=True
                )
            summary = summarise_cprofile(prof)
            tool = "cProfile"
        seconds = time.perf_counter() - start
        shutil.rmtree(project, ignore_errors=True)
        row = {"size": size_name(words), "tool": tool, "seconds": seconds, "load": load, **summary}
        (folder / f"run-{size_name(words)}.json").write_text(json.dumps(row, indent=1), "utf-8")
        rows.append(row)
    return rows


# ---------------------------------------------------------------- report


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def report(results: dict) -> str:
    out = [
        f"Machine: {results['machine']}; {results['date']}; load average "
        f"{results['load_start']} at the start, {results['load_end']} at the end.",
    ]
    if results.get("pipeline"):
        out.append(f"Pipeline: {results['pipeline']}.")
    rows = results.get("throughput", [])
    if rows:
        title = (
            "Throughput (`qualcode run` = ingest + suggest + exports, a fresh project; median "
            f"of {rows[0]['repeats']}, the largest of {rows[-1]['repeats']}):"
        )
        out += ["", title, ""]
        out += _table(
            [
                "corpus",
                "words",
                "transcripts",
                "segments",
                "bare nlp.pipe s (CPU)",
                "qualcode run s (CPU)",
                "run / nlp.pipe",
                "same in CPU time",
                "words/s run",
                "words/s nlp.pipe",
                "peak MB run",
                "peak MB largest worker",
                "peak MB nlp.pipe",
                "load (pipe/run)",
            ],
            [
                [
                    r["size"],
                    r["words"],
                    r["documents"],
                    r["segments"],
                    f"{r['bare_pipe_s']:.1f} ({r['bare_pipe_cpu_s']:.1f})",
                    f"{r['run_s']:.1f} ({r['run_cpu_s']:.1f})",
                    f"{r['ratio']:.1f}",
                    f"{r['ratio_cpu']:.1f}",
                    f"{r['words_per_s']:.0f}",
                    f"{r['bare_words_per_s']:.0f}",
                    f"{r['run_peak_mb']:.0f}",
                    f"{r.get('worker_peak_mb', 0.0):.0f}",
                    f"{r['bare_peak_mb']:.0f}",
                    "; ".join(f"{a}/{b}" for a, b in r["loads"]),
                ]
                for r in rows
            ],
        )
        names = list(dict.fromkeys(k for r in rows for k in r["stages"]))
        out += ["", "Time per stage (median seconds: wall clock, and CPU in brackets):", ""]
        out += _table(
            ["stage", *[r["size"] for r in rows]],
            [
                [
                    n,
                    *[
                        f"{r['stages'].get(n, 0.0):.1f} ({r['stages_cpu'].get(n, 0.0):.1f})"
                        for r in rows
                    ],
                ]
                for n in names
            ],
        )
        out += ["", "Memory growth (peak resident memory of the `qualcode run` process):", ""]
        growth = []
        previous = None
        for r in rows:
            marginal = "–"
            if previous is not None and r["words"] > previous["words"]:
                per = (r["run_peak_mb"] - previous["run_peak_mb"]) / (
                    (r["words"] - previous["words"]) / 100_000
                )
                marginal = f"{per:.0f}"
            growth.append(
                [
                    r["size"],
                    r["words"],
                    f"{r['run_peak_mb']:.0f}",
                    f"{r['run_peak_mb'] / r['words'] * 100_000:.0f}",
                    marginal,
                ]
            )
            previous = r
        out += _table(
            ["corpus", "words", "peak MB", "MB per 100k words", "extra MB per extra 100k words"],
            growth,
        )
        largest = rows[-1]
        if largest.get("peak_after"):
            steps = sorted(largest["peak_after"].items(), key=lambda kv: kv[1])
            out += [
                "",
                f"Peak memory so far when each stage ended ({largest['size']}, MB): "
                + ", ".join(f"{name} {mb:.0f}" for name, mb in steps)
                + ".",
            ]
        out += [
            "",
            f"Targets at {largest['size']} words: run / nlp.pipe {largest['ratio']:.1f} ≤ 3: "
            f"{_met(largest['ratio'] <= 3)}; peak memory {largest['run_peak_mb']:.0f} MB < 1536: "
            f"{_met(largest['run_peak_mb'] < 1536)}.",
        ]
    reruns = results.get("reruns")
    if reruns:
        out += [
            "",
            f"Re-runs ({reruns['documents']} transcripts, {reruns['words']} words, "
            f"{reruns['segments']} segments; added: {reruns['added_document']}; lemmatised "
            f"segments {reruns['lemmatised_before']} → {reruns['lemmatised_after_suggest']} after "
            f"suggest → {reruns['lemmatised_after_add']} after adding):",
            "",
        ]
        out += _table(
            [
                "step",
                "time (s)",
                "share of the first run",
                "CPU (s)",
                "CPU share",
                "tokenise + match (s)",
                "peak MB",
                "load",
            ],
            [
                [
                    r["step"],
                    f"{r['seconds']:.1f}",
                    f"{r['share_of_full_run']:.0%}",
                    f"{r['cpu_seconds']:.1f}",
                    f"{r['cpu_share_of_full_run']:.0%}",
                    f"{r['stages'].get('suggest: tokenise + match new segments', 0.0):.1f}",
                    f"{r['peak_mb']:.0f}",
                    "; ".join(str(x) for x in r["loads"]),
                ]
                for r in reruns["rows"]
            ],
        )
        added = next(r for r in reruns["rows"] if r["step"].endswith("one transcript added"))
        out += [
            "",
            f"Target: one transcript added ≤ 10% of the first run: {added['share_of_full_run']:.0%}"
            f" (CPU {added['cpu_share_of_full_run']:.0%}), "
            f"{_met(added['share_of_full_run'] <= 0.10)}.",
        ]
    startup = results.get("startup")
    if startup:
        out += ["", "Start-up (median of at least 5):", ""]
        out += _table(
            ["command", "time (s)", "peak MB", "target", "load"],
            [
                [
                    r["step"],
                    f"{r['seconds']:.2f}",
                    f"{r['peak_mb']:.0f}",
                    f"< 0.5 s: {_met(r['seconds'] < 0.5)}",
                    f"{median(r['loads']):.1f}",
                ]
                for r in startup
            ],
        )
    topics = results.get("topics")
    if topics:
        split = topics["split"]
        out += [
            "",
            f"Topics ({topics['project']}: {topics['passages']} passages, {topics['topics']} "
            f"topics, {topics['outliers']} outliers; {topics['embedding']}):",
            "",
        ]
        out += _table(
            ["total (s)", *split.keys(), "peak MB", "target", "load"],
            [
                [
                    f"{topics['seconds']:.1f}",
                    *[f"{v:.1f}" for v in split.values()],
                    f"{topics['peak_mb']:.0f}",
                    f"< 120 s: {_met(topics['seconds'] < 120)}",
                    "; ".join(str(x) for x in topics["loads"]),
                ]
            ],
        )
    for prof in results.get("profiles", []):
        out += ["", f"Profile of `qualcode run` at {prof['size']} ({prof['tool']}):", ""]
        out += _table(
            ["function (self time)", "share", "qualcode function (inclusive)", "share"],
            [
                [a, f"{sa:.0%}", b, f"{sb:.0%}"]
                for (a, sa), (b, sb) in zip(prof["self"][:12], prof["inclusive"][:12], strict=False)
            ],
        )
    return "\n".join(out)


def plot(results: dict, path: Path) -> None:
    """Time and peak memory against corpus size, for docs/."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["throughput"]
    words = [r["words"] / 1000 for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.plot(words, [r["run_cpu_s"] for r in rows], "o-", label="qualcode run (CPU)")
    left.plot(words, [r["run_s"] for r in rows], "o:", color="C0", alpha=0.5, label="(wall)")
    left.plot(words, [r["bare_pipe_cpu_s"] for r in rows], "s--", label="bare nlp.pipe (CPU)")
    left.set_xlabel("corpus (thousand words)")
    left.set_ylabel("seconds")
    left.legend()
    right.plot(words, [r["run_peak_mb"] for r in rows], "o-", label="qualcode run")
    right.plot(words, [r["bare_peak_mb"] for r in rows], "s--", label="bare nlp.pipe")
    right.axhline(1536, color="grey", lw=0.8, ls=":", label="target (1.5 GB)")
    right.set_xlabel("corpus (thousand words)")
    right.set_ylabel("peak resident memory (MB)")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="corpus sizes in words, e.g. 100k,300k,1m")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--quick", action="store_true", help="small corpora, one run each")
    parser.add_argument(
        "--only", help="comma-separated: " + ",".join(MEASUREMENTS) + " (profile: see --profile)"
    )
    parser.add_argument("--profile", action="store_true", help="also profile qualcode run")
    parser.add_argument("--rerun-documents", type=int, help="transcripts in the re-run project")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="corpora and projects")
    parser.add_argument("--plot", type=Path, help="write a PNG of time and memory by size")
    parser.add_argument(
        "--model", help="spaCy model (package or folder) instead of the offline fallback"
    )
    args = parser.parse_args(argv)
    global MODEL
    MODEL = (
        str(Path(args.model).resolve()) if args.model and Path(args.model).is_dir() else args.model
    )
    sizes = [parse_size(s) for s in args.sizes.split(",")] if args.sizes else None
    sizes = sorted(sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))
    repeat = 1 if args.quick else args.repeat
    documents = args.rerun_documents or (QUICK_RERUN_DOCUMENTS if args.quick else RERUN_DOCUMENTS)
    only = set(args.only.split(",")) if args.only else set(MEASUREMENTS) - {"profile"}
    if args.profile:
        only.add("profile")
    unknown = only - set(MEASUREMENTS)
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(sorted(unknown))}")
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    log = out / "scale.log"
    results: dict[str, Any] = {
        "machine": machine(),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_start": load_average(),
        "sizes": sizes,
        "repeat": repeat,
    }
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("throughput", lambda: measure_throughput(out, sizes, repeat, log)),
        ("reruns", lambda: measure_reruns(out, documents, repeat, log)),
        (
            "startup",
            lambda: measure_startup(
                out / f"project-w{sizes[-1]}"
                if (out / f"project-w{sizes[-1]}" / "qualcode.db").exists()
                else None,
                repeat,
            ),
        ),
        ("topics", lambda: _topics_or_none(out, sizes, repeat, log)),
    ]
    for name, step in steps:
        if name in only:
            print(f"{name} ...", file=sys.stderr)
            results[name] = step()
            _save(results, out)
    if "profile" in only:
        print("profiles ...", file=sys.stderr)
        results["profiles"] = profile_runs(out, sizes, log)
    results["load_end"] = load_average()
    if results.get("throughput"):
        results["pipeline"] = results["throughput"][0]["pipeline"]
    _save(results, out)
    if args.plot and results.get("throughput"):
        plot(results, args.plot)
    print(report(results))
    return results


def _topics_or_none(out: Path, sizes: Sequence[int], repeat: int, log: Path) -> dict | None:
    """Topics on the largest throughput project (made first if the throughput step was left
    out); None when the topic model is not installed."""
    import importlib.util

    if importlib.util.find_spec("qualcode.topics") is None:
        print("  qualcode.topics is not there yet: topics left out", file=sys.stderr)
        return None
    project = out / f"project-w{sizes[-1]}"
    if not (project / "qualcode.db").exists():
        info = corpus(out, words=sizes[-1])
        fresh_run(info.folder, project, log)
    return measure_topics(project, min(repeat, 2), log)


def _save(results: dict, out: Path) -> None:
    name = "scale-results-model.json" if MODEL else "scale-results.json"
    results["model"] = MODEL
    (out / name).write_text(json.dumps(results, indent=1, default=str), "utf-8")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        mode, result_file, rest = sys.argv[2], sys.argv[3], sys.argv[4:]
        if mode == "bare":
            child_bare(result_file, *rest)
        else:
            child_cli(result_file, rest)
    else:
        main()
