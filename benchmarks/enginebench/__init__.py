"""The pieces of `benchmarks/engine_bench.py`: the stacks, running them, stackr in process,
and the report."""
