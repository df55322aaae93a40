"""`catalogue`: install, import and judge the published accumulation code (reports/catalogue)."""
from __future__ import annotations

import json
from pathlib import Path

from bench.catalogue.entries import ENTRIES
from bench.catalogue.report import save, update_readme
from bench.catalogue.run import catalogue
from bench.errors import BenchError
from bench.process import cpu_allocator
from bench.results.machine import label, machine_identity


def add_parser(sub) -> None:
    p = sub.add_parser("catalogue", help="judge published gradient-accumulation code "
                                         "(installed pinned into .catalogue/)")
    p.add_argument("--out", default="reports/catalogue", help="the catalogue's folder")
    p.add_argument("--packages", default=".catalogue", help="where packages are installed")
    p.add_argument("--only", help="comma-separated entry names (default: all)")
    p.add_argument("--summary", help="README to refresh the catalogue table in")
    p.set_defaults(handler=run, tensorflow=False)


def run(args) -> int:
    entries = ENTRIES
    if args.only:
        wanted = {n.strip() for n in args.only.split(",")}
        entries = [e for e in ENTRIES if e.name in wanted]
        if not entries:
            raise BenchError(f"no catalogue entry named {args.only!r} (entries: "
                             f"{', '.join(e.name for e in ENTRIES)})")
    rows = [r.to_json() for r in catalogue(entries, Path(args.packages))]
    stored = Path(args.out) / "catalogue.json"
    if args.only and stored.exists():  # the other entries keep their stored rows
        fresh = {r["entry"]: r for r in rows}
        kept = {r["entry"]: r for r in json.loads(stored.read_text())["rows"]}
        rows = [fresh.get(e.name) or kept[e.name] for e in ENTRIES if e.name in fresh | kept]
    machine = label(machine_identity(cpu_allocator(), []))
    path = save(rows, Path(args.out), machine)
    print(f"wrote {path}")
    if args.summary:
        update_readme(Path(args.summary), rows)
    return 0
