from django.contrib import admin

from audit.admin import AuditedModelAdmin

from .models import AccessGrant, BusinessCase, Site


@admin.register(Site)
class SiteAdmin(AuditedModelAdmin):
    list_display = ["name", "url", "allows_shared_display_names", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name"]

    def has_delete_permission(self, request, obj=None):
        return False  # switch a site off instead: cases and grants refer to it


@admin.register(BusinessCase)
class BusinessCaseAdmin(admin.ModelAdmin):
    """Read-only: cases change only through the portal's services."""

    list_display = ["reference", "requester", "tier", "status", "submitted_at"]
    list_filter = ["status", "tier"]
    list_select_related = ["requester"]
    search_fields = ["reference", "requester__email"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessGrant)
class AccessGrantAdmin(admin.ModelAdmin):
    """Read-only: grants change only through the portal's services."""

    list_display = ["business_case", "holder", "tier", "status", "start_date", "end_date"]
    list_filter = ["status", "tier"]
    list_select_related = ["business_case", "holder"]
    search_fields = ["business_case__reference", "holder__email"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
