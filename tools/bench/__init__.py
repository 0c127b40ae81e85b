"""Benchmarks: user commands (`texture bench`, `python -m tools.bench.kernels ...`), imported by
nothing in engine/ or console/. run.py is `texture bench`; llm.py, quant.py, llamacpp.py its model
sections; cluster.py `texture bench --cluster`; tui.py the console's first frame and key latency;
kernels.py the CPU kernel micro-benchmarks."""
