"""The lane's process: `KERAS_BACKEND` set by whoever started it (`bench.execute.lane`), and
TensorFlow blocked before Keras is imported. It reads a pickled task, writes a pickled result;
bad input is one line on stderr and exit status 2."""
from __future__ import annotations

import argparse
import os
import pickle
import sys
from pathlib import Path

from bench.backends.block import block_tensorflow


def main(argv: list[str] | None = None) -> int:
    block_tensorflow()
    parser = argparse.ArgumentParser(prog="python -m bench.backends")
    parser.add_argument("--payload", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    # the lane's modules import Keras: after the block, and after KERAS_BACKEND is known
    from bench.backends.tasks import run_task
    from bench.errors import BenchError

    payload = pickle.loads(Path(args.payload).read_bytes())
    try:
        result = run_task(os.environ.get("KERAS_BACKEND", ""), payload)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    Path(args.out).write_bytes(pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
