"""The benchmark (`make bench`): the project against the limit and against plain dlt.

`python -m analytics_assets_tests.bench` starts the API emulator in this process and runs every
contender as its own subprocess (so each has its own memory and import cost), one after the other,
on the same machine, and prints one table of ratios. See BENCHMARKS.md.
"""
