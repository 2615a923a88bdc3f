import importlib

import pytest

from access_requests.models import Site


@pytest.fixture
def site_catalogue(db):
    """The catalogue the migration seeds (a transactional test before this one empties it)."""
    seeded = importlib.import_module("access_requests.migrations.0003_seed_site_catalogue")
    for name, url, shared in seeded.SITES:
        Site.objects.get_or_create(
            name=name, defaults={"url": url, "allows_shared_display_names": shared}
        )
