"""Time the main job on the sample corpus and measure start-up and peak memory, then run the
scale benchmarks (``scale.py``: 100k, 300k and 1M generated words, re-runs, topics).

Each measurement runs in a fresh process, several times; the table shows the median.
`make bench` runs this (about half an hour on an idle 2-core machine); the figures go into
docs/benchmarks.md. Options other than ``--repeat`` and ``--no-scale`` go to ``scale.py``:

    python benchmarks/run_all.py [--repeat 3]
    python benchmarks/run_all.py --quick                 # small corpora: a few minutes
    python benchmarks/run_all.py --sizes 100k,300k --only throughput
    python benchmarks/run_all.py --no-scale              # the sample corpus only
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUALCODE = [sys.executable, "-m", "qualcode"]
# Runs the CLI in the child and writes that process's own peak memory to the file in argv[1].
WRAPPER = (
    "import resource, sys\n"
    "from qualcode.cli import cli\n"
    "out = sys.argv.pop(1)\n"
    "try:\n"
    "    cli.main(args=sys.argv[1:], prog_name='qualcode')\n"
    "except SystemExit as exc:\n"
    "    code = exc.code\n"
    "finally:\n"
    "    open(out, 'w').write(str(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
    "sys.exit(code or 0)\n"
)


def timed(args: list[str]) -> tuple[float, float]:
    """Wall time (s) and peak resident memory (MB) of one child process."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss:
        command = [sys.executable, "-c", WRAPPER, rss.name, *args[len(QUALCODE) :]]
        start = time.perf_counter()
        subprocess.run(
            command,
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )
        elapsed = time.perf_counter() - start
        peak_kb = int(Path(rss.name).read_text() or 0)
    return elapsed, peak_kb / 1024


def words_in_corpus() -> int:
    from qualcode.documents import list_documents
    from qualcode.store import open_project

    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([*QUALCODE, "init", tmp], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        subprocess.run(
            [*QUALCODE, "ingest", "corpus", "-p", tmp],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with open_project(tmp) as project:
            return sum(d.words for d in list_documents(project))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-scale", action="store_true", help="skip benchmarks/scale.py")
    args, scale_args = parser.parse_known_args()
    out = Path(tempfile.mkdtemp(prefix="qualcode-bench-"))
    rows = []
    measurements = {
        "qualcode --help": lambda: [*QUALCODE, "--help"],
        "qualcode run corpus/ (fresh project)": lambda: (
            shutil.rmtree(out / "p", ignore_errors=True),
            [*QUALCODE, "run", "corpus", "--out", str(out / "p")],
        )[1],
        "qualcode suggest (lemmas stored)": lambda: [*QUALCODE, "suggest", "-p", str(out / "p")],
        "qualcode documents": lambda: [*QUALCODE, "documents", "-p", str(out / "p")],
    }
    for name, make in measurements.items():
        times, peaks = [], []
        for _ in range(args.repeat):
            seconds, peak = timed(make())
            times.append(seconds)
            peaks.append(peak)
        rows.append((name, statistics.median(times), max(peaks)))
    words = words_in_corpus()
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; corpus: {words} words; median of {args.repeat}"
    )
    print("\n| step | median time (s) | peak memory (MB) |\n|---|---|---|")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.2f} | {peak:.0f} |")
    shutil.rmtree(out, ignore_errors=True)
    if not args.no_scale:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import scale

        print()
        sys.stdout.flush()
        scale.main([*scale_args, "--repeat", str(args.repeat)] if args.repeat else scale_args)


if __name__ == "__main__":
    main()
