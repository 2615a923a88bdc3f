import gc

import pytest
from django.template import engines

from portal.warm_up import warm_up_and_freeze


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


def _cached_names() -> set[str]:
    loader = engines["django"].engine.template_loaders[0]  # the cached loader
    return {key.split("-")[0] for key in loader.get_template_cache}


def test_a_web_worker_compiles_every_page_template_and_freezes_what_it_loaded(unfrozen, caplog):
    compiled = warm_up_and_freeze()

    # Every template of the project and the GOV.UK form pack compiled (a broken one
    # would be logged, and would be a 500 on its page), and is kept by the cached loader.
    assert "did not compile" not in caplog.text
    assert compiled > 100
    cached = _cached_names()
    for name in [
        "oversight/register.html",
        "approvals/decide.html",
        "gds/layout/fieldset.html",
        "notifications/email/approval_request.txt",
    ]:
        assert name in cached, name
    # What was loaded is out of the garbage collector's way.
    assert gc.get_freeze_count() > 50_000
