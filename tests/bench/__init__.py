"""Benchmarks: ``make bench`` (``python -m tests.bench``) runs every ``*_bench.py`` module's ``main()``."""
