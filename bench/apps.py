from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The department-scale benchmark: its data loader, its floor page and its runner
    (bench/run.py). Installed only when benchmarking (`SNS_BENCH=1`) and under pytest."""

    name = "bench"
    verbose_name = "Benchmark"
