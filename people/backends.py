"""How the portal signs people in and reads their permissions."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q

from core.prepared import PreparedQuery, model_from_values


def _permissions_of(user_id: int):
    through_user = Permission.user_set.through.objects.filter(
        permission=OuterRef("pk"), user_id=user_id
    )
    through_group = Permission.group_set.through.objects.filter(
        permission=OuterRef("pk"), group__user=user_id
    )
    return (
        Permission.objects.filter(Q(Exists(through_user)) | Q(Exists(through_group)))
        .values_list("content_type__app_label", "codename")
        .order_by()
    )


# Asked on almost every request: Django's building of the two subqueries and PostgreSQL's
# planning of them cost more than running them (core/prepared.py).
_PERMISSIONS_OF = PreparedQuery("people_permissions_of", _permissions_of, user_id=-(2**62) + 31)


def _user_columns() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields]


def _person(user_id: int):
    return get_user_model()._default_manager.filter(pk=user_id).values_list(*_user_columns())


# The signed-in person, read again on every request (`django.contrib.auth.get_user`).
_PERSON = PreparedQuery("people_person", _person, user_id=-(2**62) + 37)


class PortalBackend(ModelBackend):
    """Django's `ModelBackend`, but a person's permissions (their own and their roles') are
    read in one query instead of two. Almost every page checks a permission, so this is one
    query less per page; the answer is the same set `ModelBackend` gives (a test compares
    them for every role, a superuser, an inactive person and a permission of one's own)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        # LOCAL_PASSWORDS=off: no password signs anyone in, through any page (the admin's too).
        if not settings.LOCAL_PASSWORDS:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def get_user(self, user_id):
        """`ModelBackend.get_user`'s person (every field, as `get(pk=…)` reads them), read by
        a prepared statement: asked on every signed-in request."""
        rows = _PERSON.run(user_id=get_user_model()._meta.pk.to_python(user_id))
        if not rows:
            return None
        user = model_from_values(get_user_model(), dict(zip(_user_columns(), rows[0], strict=True)))
        return user if self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        # Cached on the user under the name `ModelBackend` caches it under, so whatever drops
        # Django's permission cache (`del user._perm_cache`, a common idiom) drops this one.
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                permissions = Permission.objects.values_list(
                    "content_type__app_label", "codename"
                ).order_by()
            else:
                permissions = _PERMISSIONS_OF.run(user_id=user_obj.pk)
            user_obj._perm_cache = {
                f"{app_label}.{codename}" for app_label, codename in permissions
            }
        return user_obj._perm_cache
