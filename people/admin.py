from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction

from audit.admin import AuditedModelAdmin

from .models import BusinessUnit, Directorate, Organisation, StaffProfile, User


class StaffProfileInline(admin.StackedInline):
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

    def user_change_password(self, request, id, form_url=""):
        # The password and its audit event are saved together.
        with transaction.atomic():
            return super().user_change_password(request, id, form_url)


@admin.register(Organisation)
class OrganisationAdmin(AuditedModelAdmin):
    list_display = ["name", "kind", "fallback_approver"]
    search_fields = ["name"]
    autocomplete_fields = ["fallback_approver"]


@admin.register(Directorate)
class DirectorateAdmin(AuditedModelAdmin):
    list_display = ["name", "organisation", "director"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    autocomplete_fields = ["director"]


@admin.register(BusinessUnit)
class BusinessUnitAdmin(AuditedModelAdmin):
    list_display = ["name", "cost_centre", "directorate"]
    list_select_related = ["directorate"]
    search_fields = ["name", "cost_centre"]
