"""Herald's benchmarks (``make bench`` = ``python -m bench``).

Every module here named ``*_bench.py`` has a ``main()`` that runs one
benchmark and prints its own figures; :mod:`bench.__main__` runs them all.
:mod:`bench.processes` starts Herald's parts as child processes;
:mod:`bench.demo` is ``make demo``.
"""
