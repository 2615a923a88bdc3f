"""How the portal signs people in and reads their permissions."""

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Exists, OuterRef, Q


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

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        # Cached on the user under the name `ModelBackend` caches it under, so whatever drops
        # Django's permission cache (`del user._perm_cache`, a common idiom) drops this one.
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                permissions = Permission.objects.all()
            else:
                through_user = Permission.user_set.through.objects.filter(
                    permission=OuterRef("pk"), user=user_obj
                )
                through_group = Permission.group_set.through.objects.filter(
                    permission=OuterRef("pk"), group__user=user_obj
                )
                permissions = Permission.objects.filter(
                    Q(Exists(through_user)) | Q(Exists(through_group))
                )
            user_obj._perm_cache = {
                f"{app_label}.{codename}"
                for app_label, codename in permissions.values_list(
                    "content_type__app_label", "codename"
                ).order_by()
            }
        return user_obj._perm_cache
