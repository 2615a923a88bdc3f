"""What the benchmark times exists under the names it looks for."""

from django.utils.module_loading import import_string

from bench.pages import SWEEPS


def test_every_sweep_the_benchmark_times_names_a_service_that_imports():
    for sweep in SWEEPS:
        for path in sweep.services:
            assert callable(import_string(path)), path
