"""``python -m bench [NAME ...]``: run every ``bench/*_bench.py`` (or the named ones)."""

from __future__ import annotations

import importlib
import inspect
import sys
import time
from pathlib import Path


def bench_modules() -> list[str]:
    return sorted(p.stem for p in Path(__file__).parent.glob("*_bench.py"))


def main(argv: list[str]) -> int:
    names = bench_modules()
    wanted = [n if n.endswith("_bench") else f"{n}_bench" for n in argv] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(names)}")
        return 2
    for name in wanted:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.{name}")
        takes_argv = bool(inspect.signature(module.main).parameters)
        module.main([]) if takes_argv else module.main()  # defaults, not our argv
        print(f"({name} took {time.perf_counter() - started:.1f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
