from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from audit.admin import AuditedModelAdmin
from core.client import client_of
from core.models import primary_key_field

from .models import BusinessUnit, Directorate, Organisation, Role, StaffProfile, User
from .roles import ADMIN_SITE_ROLES
from .services import password_link_send


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

    def get_formset(self, request, obj=None, **kwargs):
        # A person has one profile. Django's default ceiling is a thousand forms more than
        # that: a post whose management form asks for more would have the page build, check
        # and draw 1,001 profile forms (about a tenth of a second each time) to refuse it.
        return super().get_formset(request, obj, absolute_max=1, **kwargs)


class PersonAddForm(forms.ModelForm):
    """Adding a person: who they are and their roles, no password. The person chooses
    their own password from the link they are emailed (`password_link_send`)."""

    groups = forms.ModelMultipleChoiceField(
        label="Roles",
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "groups"]
        help_texts = {
            "email": "We email this address a link to create their password.",
        }

    def clean_email(self):
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("A person with this email address already exists")
        return email

    def save(self, commit=True):
        person = super().save(commit=False)
        person.set_unusable_password()
        # As import_staff does: the roles that use the Django admin get into it.
        person.is_staff = any(g.name in ADMIN_SITE_ROLES for g in self.cleaned_data["groups"])
        if commit:
            person.save()
            self.save_m2m()
        return person


@admin.register(User)
class UserAdmin(AuditedModelAdmin, DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "roles", "directorate", "is_active"]
    list_filter = ["is_active", "is_staff", "groups"]
    list_select_related = ["profile__business_unit__directorate"]
    search_fields = ["email", "first_name", "last_name", "profile__commonly_used_name"]
    show_full_result_count = False
    inlines = [StaffProfileInline]
    add_form = PersonAddForm
    add_form_template = "admin/people/user/add_form.html"
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("is_active", "is_staff", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("email",)}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Access", {"fields": ("groups",)}),
    )
    readonly_fields = ["last_login", "date_joined"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Name", ordering="profile__commonly_used_name")
    def name(self, person):
        return person.display_name

    @admin.display(description="Role")
    def roles(self, person):
        labels = dict(Role.choices)
        return (
            ", ".join(sorted(labels.get(g.name, g.name) for g in person.groups.all())) or "No role"
        )

    @admin.display(description="Directorate", ordering="profile__business_unit__directorate__name")
    def directorate(self, person):
        profile = getattr(person, "profile", None)
        return profile.business_unit.directorate.name if profile is not None else None

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            # In the admin's transaction: the person, their audit event and their email
            # are saved together, and the email goes out after commit.
            sent = password_link_send(
                person=form.instance, actor=request.user, client=client_of(request)
            )
            if sent is not None:
                self.message_user(
                    request, f"We emailed {form.instance.email} a link to create their password."
                )

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
