from django.contrib import admin

from core.models import column_fields

from .models import OutboundEmail


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "to", "template", "status", "attempts", "sent_at"]
    list_filter = ["status", "template"]
    search_fields = ["to", "subject"]
    show_full_result_count = False
    # The sealed live values are not shown (they are unreadable, and wiped once sent).
    exclude = ["secret"]
    readonly_fields = [f.name for f in column_fields(OutboundEmail) if f.name != "secret"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
