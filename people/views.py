"""Signing in, and creating or resetting a password from an emailed link (Django's views).

Django's views do the token handling: the emailed link's token is checked, kept in the
session and swapped for `.../set-password/` in the address (so the token is not in the
page's address, its history or any Referer), and checked again on the POST. What differs
here: the email goes through the outbox and the password is set through `people.services`
(both with audit events), a link that no longer works answers 410 with a page saying so,
and nobody is signed in by it (they sign in with the new password, through django-axes).
"""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import INTERNAL_RESET_SESSION_TOKEN
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

from core.client import client_of

from . import services
from .errors import PasswordLinkThrottled
from .forms import PasswordCreateForm, PasswordLinkRequestForm, SignInForm
from .sso.views import PROVIDER_SIGN_OUT


def _link_hours() -> int:
    return settings.PASSWORD_RESET_TIMEOUT // 3600


def passwords_off_page(request):
    """With LOCAL_PASSWORDS off, every password page says to sign in with single sign-on."""
    return render(request, "people/passwords_off.html", status=403)


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    """The sign-in page: single sign-on's button where it is configured, and the email and
    password form unless LOCAL_PASSWORDS is off (then a posted password is refused before
    the form or the lock-out reads it)."""

    template_name = "registration/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        if not settings.LOCAL_PASSWORDS:
            return passwords_off_page(request)
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return {
            **super().get_context_data(**kwargs),
            "sso_enabled": settings.SSO_ENABLED,
            "sso_label": settings.OIDC_SIGN_IN_LABEL,
            "local_passwords": settings.LOCAL_PASSWORDS,
            # Offered once, on the page after signing out of the portal.
            "provider_sign_out": self.request.session.pop(PROVIDER_SIGN_OUT, None),
        }


class LocalPasswordsOnly:
    """A password page, answered only while local passwords are on."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.LOCAL_PASSWORDS:
            return passwords_off_page(request)
        return super().dispatch(request, *args, **kwargs)


class PasswordLinkRequestView(LocalPasswordsOnly, auth_views.PasswordResetView):
    """ "Enter your work email address". Every valid address leads to the same page, so the
    page never says who has an account."""

    form_class = PasswordLinkRequestForm
    template_name = "people/password_link_request.html"
    success_url = reverse_lazy("people:password-reset-sent")

    def form_valid(self, form):
        user = self.request.user
        try:
            services.password_reset_request(
                email=form.cleaned_data["email"],
                actor=user if user.is_authenticated else None,
                client=client_of(self.request),
            )
        except PasswordLinkThrottled:
            minutes = round(settings.AXES_COOLOFF_TIME * 60)
            return render(
                self.request,
                "people/password_link_throttled.html",
                {"minutes": minutes},
                status=429,
            )
        return HttpResponseRedirect(self.get_success_url())


class PasswordLinkSentView(LocalPasswordsOnly, auth_views.PasswordResetDoneView):
    """ "Check your email"."""

    template_name = "people/password_link_sent.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "hours": _link_hours()}


class PasswordCreateView(LocalPasswordsOnly, auth_views.PasswordResetConfirmView):
    """ "Create a password" from the emailed link: GET shows the form, only the POST of the
    form sets the password."""

    form_class = PasswordCreateForm
    template_name = "people/password_create.html"
    success_url = reverse_lazy("people:password-reset-complete")
    post_reset_login = False

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active else None

    def dispatch(self, *args, **kwargs):
        response = super().dispatch(*args, **kwargs)
        # The address holds the token (or, after the swap, the person's id).
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    def render_to_response(self, context, **kwargs):
        if not context.get("validlink"):
            return self.link_not_working()
        return super().render_to_response(context, **kwargs)

    def link_not_working(self):
        return render(
            self.request,
            "people/password_link_expired.html",
            {"hours": _link_hours()},
            status=410,  # as the approvals' expired link: it worked once and is gone
        )

    def form_valid(self, form):
        try:
            services.password_reset_complete(
                user_id=self.user.pk,
                token=self.request.session.get(INTERNAL_RESET_SESSION_TOKEN, ""),
                password=form.cleaned_data["new_password1"],
                client=client_of(self.request),
            )
        except services.PasswordLinkInvalid:
            return self.link_not_working()
        finally:
            self.request.session.pop(INTERNAL_RESET_SESSION_TOKEN, None)
        return HttpResponseRedirect(self.get_success_url())


class PasswordSetView(LocalPasswordsOnly, auth_views.PasswordResetCompleteView):
    """ "Your password has been set", with the way to sign in."""

    template_name = "people/password_set.html"
