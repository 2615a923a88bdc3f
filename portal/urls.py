from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from api.urls import read_api_urls
from approvals.views import notify_callback
from monitoring.views import metrics_view
from people.forms import AdminSignInForm
from people.views import SignInView

from . import views

admin.site.site_header = "SNS access portal administration"
admin.site.site_title = "SNS access portal"
admin.site.login_form = AdminSignInForm  # checks the email address's length

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("guidance/", views.guidance, name="guidance"),
    path("help/", views.help_and_contact, name="help"),
    path("cookies/", views.cookies, name="cookies"),
    path("privacy/", views.privacy, name="privacy"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("demo/sent-emails/", views.sent_emails, name="sent-emails"),
    path("sign-in/", SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    # GOV.UK Notify's delivery receipts (approvals: an undeliverable decision email escalates).
    path("notify/callback/", notify_callback, name="notify-callback"),
    path("", include("people.urls")),
    path("requests/", include("access_requests.urls")),
    path("approvals/", include("approvals.urls")),
    path("oversight/", include("oversight.urls")),
    path("staffing/", include("staffing.urls")),
    path("api-tokens/", include("api.urls")),
    path("api/v1/", read_api_urls()),
    path("reviews/", include("reviews.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "portal.error_pages.bad_request"
handler403 = "portal.error_pages.permission_denied"
handler404 = "portal.error_pages.page_not_found"
handler500 = "portal.error_pages.server_error"

if settings.BENCH_ENABLED:
    # The benchmark's pages (make bench sets SNS_BENCH=1); absent otherwise.
    urlpatterns.append(path("bench/", include("bench.urls")))
