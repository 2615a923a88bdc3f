from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from people.sso.views import PROVIDER_SIGN_OUT, provider_sign_out_offer

from . import health, home_sections
from .sent_emails import demo_sent_emails, demo_sent_emails_page_enabled


@require_safe
def home(request):
    return render(request, "portal/home.html", {"sections": home_sections.for_user(request.user)})


@login_not_required
@never_cache
@require_safe
def healthz(request):
    checks = {
        "database": "ok" if health.database_is_up() else "unavailable",
        "broker": "ok" if health.broker_is_up() else "unavailable",
    }
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503
    )


@login_not_required  # demo only: a person from import_staff reads their password link here
@require_safe
def sent_emails(request):
    if not demo_sent_emails_page_enabled():
        raise Http404("The sent emails page exists only in the demo")
    return render(request, "portal/sent_emails.html", {"emails": demo_sent_emails()})


@require_safe
def guidance(request):
    return render(request, "portal/guidance.html")


@login_not_required
@require_safe
def help_and_contact(request):
    return render(request, "service/help.html")


@login_not_required
@require_safe
def cookies(request):
    return render(
        request,
        "service/cookies.html",
        {
            "session_cookie": settings.SESSION_COOKIE_NAME,
            "session_hours": settings.SESSION_COOKIE_AGE // 3600,
            "csrf_cookie": settings.CSRF_COOKIE_NAME,
        },
    )


@login_not_required
@require_safe
def privacy(request):
    return render(
        request,
        "service/privacy.html",
        {
            "session_hours": settings.SESSION_COOKIE_AGE // 3600,
            "retention": {
                "sign_in_days": settings.SNS_RETENTION_SIGN_IN_DAYS,
                "case_text_days": settings.SNS_RETENTION_CASE_TEXT_DAYS,
                "email_body_days": settings.SNS_RETENTION_EMAIL_BODY_DAYS,
                "client_days": settings.SNS_RETENTION_CLIENT_DAYS,
            },
        },
    )


@login_not_required
@require_safe
def accessibility(request):
    return render(request, "service/accessibility.html")


class SignOutView(auth_views.LogoutView):
    """Signs the person out and says so on the sign-in page it leads to. A person who signed
    in through single sign-on is offered the provider's sign-out there too: the portal's
    session ends either way, the provider's only if they choose."""

    def post(self, request, *args, **kwargs):
        provider_sign_out = provider_sign_out_offer(request)
        response = super().post(request, *args, **kwargs)
        messages.success(request, "You have signed out")
        if provider_sign_out:
            request.session[PROVIDER_SIGN_OUT] = provider_sign_out
        return response
