"""Run as `python -m audit.tests.verify_from_a_main_module`: a main module that sets Django up
when imported, as the benchmark's does, then checks the trail on two processes and prints
the count (test_verify_parallel.py)."""

import django

django.setup()

from audit.services import GENESIS_HASH  # noqa: E402
from audit.verify_parallel import audit_chain_verify_parallel  # noqa: E402

if __name__ == "__main__":
    checked = audit_chain_verify_parallel(
        checkpoints=[], cleared_up_to=0, workers=2, chunk_size=7, genesis=GENESIS_HASH
    )
    print(f"checked {checked}")  # noqa: T201
