"""Reading a person's roles once per request."""

from django.db.models import prefetch_related_objects


def load_roles(user) -> None:
    """Read the person's groups in one query. `User.has_role` reads prefetched groups when
    they are there and runs a query on every call otherwise, and a page asks several times
    (the navigation, the home page's sections, the approver's list)."""
    if user.is_authenticated:
        prefetch_related_objects([user], "groups")
