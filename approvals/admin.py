from django.contrib import admin

from .models import ApprovalRequest, Delegation


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(admin.ModelAdmin):
    list_display = ["business_case", "approver", "status", "decision", "decided_at"]
    list_filter = ["status", "decision"]
    list_select_related = ["business_case", "approver"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["director", "deputy", "scope", "starts_on", "ends_on", "cancelled_at"]
    list_select_related = ["director", "deputy"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
