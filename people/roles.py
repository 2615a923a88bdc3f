"""Roles are Django groups; this is the one place that says which permissions each carries."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from core.prepared import PreparedQuery, model_from_values

from .models import Role

VIEW_EVERYTHING = [
    "access_requests.view_site",
    "access_requests.view_businesscase",
    "access_requests.view_accessgrant",
    "approvals.view_approvalrequest",
    "approvals.view_delegation",
    "audit.view_auditevent",
    "people.view_organisation",
    "people.view_directorate",
    "people.view_businessunit",
    "people.view_staffprofile",
    "people.view_user",
    "reviews.view_accessreview",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Everyone but auditors may ask for access; auditors read only.
    Role.STAFF: ["access_requests.add_businesscase"],
    Role.DIRECTOR: ["access_requests.add_businesscase"],
    # A deputy asks for access as staff do; what they decide comes from their delegations.
    Role.DEPUTY: ["access_requests.add_businesscase"],
    Role.ICT: ["access_requests.add_businesscase", "access_requests.provision_accessgrant"],
    Role.AUDITOR: VIEW_EVERYTHING,
    Role.ADMIN: VIEW_EVERYTHING
    + [
        "access_requests.add_businesscase",
        "access_requests.add_site",
        "access_requests.change_site",
        "access_requests.revoke_accessgrant",
        "reviews.add_accessreview",
        "people.add_organisation",
        "people.change_organisation",
        "people.add_directorate",
        "people.change_directorate",
        "people.add_businessunit",
        "people.change_businessunit",
        "people.add_staffprofile",
        "people.change_staffprofile",
        "people.add_user",
        "people.change_user",
        # The read API's service tokens: seen, created and revoked (api/).
        "api.view_servicetoken",
        "api.add_servicetoken",
        "api.change_servicetoken",
        # The beat schedule is seen, not changed: it is defined in settings, and an edit
        # could silence a sweep (lapse, expiry, the audit checkpoint) without a trace in the
        # trail, since django-celery-beat's admin is not audited. Superusers may still.
        "django_celery_beat.view_periodictask",
    ],
}

# Roles whose members may use the Django admin.
ADMIN_SITE_ROLES = {Role.ADMIN}


@transaction.atomic
def roles_sync() -> None:
    """Create each role's group and give it exactly the permissions listed above."""
    by_name = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, perms in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        # Permissions of apps not migrated yet appear on a later post_migrate run.
        group.permissions.set([by_name[name] for name in perms if name in by_name])


def _groups_of(user_id: int):
    return Group.objects.filter(user=user_id).values_list("id", "name").order_by()


# Asked on every signed-in page (the navigation): prepared, as the permissions are.
_GROUPS_OF = PreparedQuery("people_groups_of", _groups_of, user_id=-(2**62) + 41)


def load_roles(user) -> None:
    """Read the person's groups in one query, kept where `prefetch_related("groups")` keeps
    them. `User.has_role` reads prefetched groups when they are there and runs a query on
    every call otherwise, and a page asks several times (the navigation, the home page's
    sections, the approver's list)."""
    if not user.is_authenticated or "groups" in getattr(user, "_prefetched_objects_cache", {}):
        return
    groups = [
        model_from_values(Group, {"id": pk, "name": name})
        for pk, name in _GROUPS_OF.run(user_id=user.pk)
    ]
    # As Django's prefetch stores a relation's rows: a queryset whose results are these.
    prefetched = user.groups.all()
    prefetched._result_cache = groups
    prefetched._prefetch_done = True
    if not hasattr(user, "_prefetched_objects_cache"):
        user._prefetched_objects_cache = {}
    user._prefetched_objects_cache["groups"] = prefetched
