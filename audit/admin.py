from django import forms
from django.contrib import admin
from django.db import models, transaction

from core.client import client_of
from core.models import column_fields

from .models import AuditEvent
from .services import record

SECRET_MARKERS = ("password", "token", "secret")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only, so the admin can neither add, change nor delete."""

    list_display = ["occurred_at", "actor_label", "action", "object_type", "object_repr"]
    list_filter = ["action"]
    search_fields = ["actor_label", "object_repr"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _shown(value):
    """A form value as something readable and JSON-friendly for the trail."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, list | tuple | set | models.QuerySet):
        return sorted(str(_shown(item)) for item in value)
    return str(value)


def _resolved(field: forms.Field, value):
    """form.initial holds primary keys for choices of objects: turn them into objects."""
    if isinstance(field, forms.ModelMultipleChoiceField) and value:
        pks = [getattr(item, "pk", item) for item in value]
        return list(field.queryset.model._default_manager.filter(pk__in=pks))
    if isinstance(field, forms.ModelChoiceField) and value not in (None, ""):
        if isinstance(value, models.Model):
            return value
        return field.queryset.model._default_manager.filter(pk=value).first()
    return value


def form_changes(form, *, prefix: str = "", adding: bool = False) -> dict:
    """{field: [before, after]} for each field the form changed; secrets are masked."""
    changes = {}
    for name in form.changed_data:
        field = form.fields.get(name)
        if field is None:
            continue
        label = f"{prefix}{name}"
        if any(marker in name for marker in SECRET_MARKERS):
            changes[label] = "(set)" if adding else "(changed)"
            continue
        before = None if adding else _shown(_resolved(field, form.initial.get(name)))
        after = _shown(form.cleaned_data.get(name))
        if before != after:
            changes[label] = [before, after]
    return changes


def _snapshot(obj) -> dict:
    """An object's own field values, kept in the trail when it is deleted."""
    return {
        field.attname: _shown(getattr(obj, field.attname))
        for field in column_fields(type(obj))
        if not any(marker in field.name for marker in SECRET_MARKERS)
    }


class AuditedModelAdmin(admin.ModelAdmin):
    """Writes every add, change and delete made in the Django admin to the audit trail,
    in the admin's own transaction: `admin.created`, `admin.changed`, `admin.deleted`,
    with what changed (field: [before, after], inlines included)."""

    def _record(self, request, action: str, obj, changes: dict) -> None:
        record(
            actor=request.user,
            action=action,
            obj=obj,
            changes=changes,
            client=client_of(request),
        )
        obj._audit_recorded = True

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changes = form_changes(form, adding=not change)
        for formset in formsets:
            name = formset.model._meta.model_name
            for inline_form in formset.initial_forms + formset.extra_forms:
                if inline_form in getattr(formset, "deleted_forms", []):
                    continue
                if inline_form.has_changed():
                    adding = inline_form in formset.extra_forms
                    changes.update(form_changes(inline_form, prefix=f"{name}.", adding=adding))
            for deleted in getattr(formset, "deleted_objects", []):
                changes[f"{name} deleted"] = str(deleted)
        self._record(
            request, "admin.changed" if change else "admin.created", form.instance, changes
        )

    def log_change(self, request, obj, message):
        # Changes that bypass save_related (the user admin's password form) are recorded here.
        if not getattr(obj, "_audit_recorded", False):
            self._record(request, "admin.changed", obj, {"summary": message})
        return super().log_change(request, obj, message)

    def delete_model(self, request, obj):
        self._record(request, "admin.deleted", obj, _snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic(using=queryset.db):
            for obj in queryset:
                self._record(request, "admin.deleted", obj, _snapshot(obj))
            super().delete_queryset(request, queryset)
