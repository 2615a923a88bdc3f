from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.admin import AuditedModelAdmin
from core.models import primary_key_field

from .models import BusinessUnit, Directorate, Organisation, StaffProfile, User


class RefusedChoiceAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, showing a refused form again without a server error.

    To draw the chosen option, Django looks the posted value up as a primary key: a value
    that is not one (" ", "abc") raises ValueError, a 500, where the form should say
    "Select a valid choice". Values that cannot be a key are left out of that lookup.
    """

    def optgroups(self, name, value, attr=None):
        key = primary_key_field(self.field.remote_field.model)
        return super().optgroups(name, [v for v in value if _is_key(key, v)], attr)


def _is_key(key_field, value) -> bool:
    try:
        key_field.to_python(value)
    except ValidationError:
        return False
    return True


class SafeAutocompleteMixin:
    """autocomplete_fields drawn with RefusedChoiceAutocompleteSelect."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = RefusedChoiceAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class StaffProfileInline(SafeAutocompleteMixin, admin.StackedInline):
    model = StaffProfile
    autocomplete_fields = ["business_unit"]


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "groups"]
    search_fields = ["email", "first_name", "last_name", "profile__commonly_used_name"]
    show_full_result_count = False
    inlines = [StaffProfileInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ["last_login", "date_joined"]

    def has_change_permission(self, request, obj=None):
        # A superuser holds every permission: an admin who could set their password or
        # email could become them. Only a superuser changes or deletes a superuser; Django
        # answers 403 to a change, password or delete post without this permission.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_delete_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):
        # The password and its audit event are saved together.
        with transaction.atomic():
            return super().user_change_password(request, id, form_url)


@admin.register(Organisation)
class OrganisationAdmin(SafeAutocompleteMixin, AuditedModelAdmin):
    list_display = ["name", "kind", "fallback_approver"]
    search_fields = ["name"]
    autocomplete_fields = ["fallback_approver"]


@admin.register(Directorate)
class DirectorateAdmin(SafeAutocompleteMixin, AuditedModelAdmin):
    list_display = ["name", "organisation", "director"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    autocomplete_fields = ["director"]


@admin.register(BusinessUnit)
class BusinessUnitAdmin(AuditedModelAdmin):
    list_display = ["name", "cost_centre", "directorate"]
    list_select_related = ["directorate"]
    search_fields = ["name", "cost_centre"]
