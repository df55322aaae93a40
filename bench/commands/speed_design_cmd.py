"""`speed-design`: which side-by-side design (processes x block rounds) would hold still,
resampled from recorded sweeps' speed processes (bench.report.speed_design)."""
from __future__ import annotations

import re
from pathlib import Path

from bench.errors import BenchError
from bench.report import speed_design
from bench.report.readme_blocks import write_block


def _designs(text: str) -> list[tuple[int, int, float]]:
    out = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)x(\d+)(?:@(\d*\.?\d+))?\s*", part)
        if not m or int(m[1]) < 2 or int(m[2]) < 2 or not 0 < float(m[3] or 1) <= 1:
            raise BenchError(f"--designs takes PROCESSESxROUNDS[@BLOCK_FRACTION][,...] with both "
                             f"counts at least 2 and the fraction in (0, 1], e.g. 2x10,3x8@0.5; "
                             f"got {part!r}")
        out.append((int(m[1]), int(m[2]), float(m[3] or 1)))
    return out


def _names(text: str | None) -> tuple[str, ...] | None:
    return tuple(x.strip() for x in text.split(",") if x.strip()) if text else None


def _source(text: str) -> tuple[Path, float]:
    m = re.fullmatch(r"(.+?)(?:@(\d*\.?\d+))?", text)
    fraction = float(m[2] or 1)
    if not 0 < fraction <= 1:
        raise BenchError(f"a sweep's @F cuts its blocks to a fraction F in (0, 1]; got {text!r}")
    return Path(m[1]), fraction


def add_parser(sub) -> None:
    p = sub.add_parser("speed-design", help="coverage and width of side-by-side speed designs, "
                                            "resampled from recorded speed processes")
    p.add_argument("records", nargs="+", metavar="FILE.jsonl[@F]",
                   help="sweeps of one machine with side-by-side speed processes; @F: a sweep "
                        "recorded with blocks 1/F times as long, its blocks cut to F first")
    p.add_argument("--designs", default="2x6,2x10,3x6,3x8,3x10,4x6",
                   metavar="PxR[@F],...", help="processes x block rounds to try, @F: with "
                                               "blocks cut to a fraction F of their length")
    p.add_argument("--splits", type=int, default=40, metavar="N",
                   help="pairs of pseudo sweeps per design (drawn at random, seeded)")
    p.add_argument("--timed", metavar="STRATEGY,...",
                   help="resample timing only these strategies side by side (large_batch among "
                        "them; default: every one recorded)")
    p.add_argument("--measured-models", metavar="MODEL,...",
                   help="resample measuring speed and memory of these models only (the others "
                        "keep their equivalence analyses; default: every one recorded)")
    p.add_argument("--record", type=Path, metavar="speed_design.json",
                   help="add the study to this record (reports/speed_design.json is the "
                        "README's; a study of the same files replaces its earlier one)")
    p.add_argument("--summary", type=Path, metavar="README.md",
                   help="with --record: rewrite the README's speed-design table")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    if args.splits < 1:
        raise BenchError(f"--splits must be a positive integer, got {args.splits}")
    if args.summary and not args.record:
        raise BenchError("--summary renders the table from --record: give both")
    content = speed_design.Content(_names(args.timed), _names(args.measured_models))
    sources = [_source(text) for text in args.records]
    rows = speed_design.study([p for p, _ in sources], _designs(args.designs), args.splits,
                              content=content, scales=[f for _, f in sources])
    print("\n".join(speed_design.lines(rows)))
    if args.record:
        speed_design.write(args.record, rows)
        print(f"recorded in {args.record}")
        if args.summary:
            write_block(args.summary, "speed-design",
                        "\n".join(speed_design.lines(speed_design.read(args.record))))
            print(f"updated the speed-design table in {args.summary}")
    return 0
