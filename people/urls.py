from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import views
from .sso import views as sso_views

app_name = "people"

# Without signing in: these are how a person gets a password to sign in with, and single
# sign-on's way in (both answer 404 while OIDC_ISSUER is unset).
urlpatterns = [
    path("sign-in/sso/", sso_views.SingleSignOnStartView.as_view(), name="sso-start"),
    path(
        "sign-in/sso/callback/",
        sso_views.SingleSignOnCallbackView.as_view(),
        name="sso-callback",
    ),
    path(
        "password/",
        login_not_required(views.PasswordLinkRequestView.as_view()),
        name="password-reset",
    ),
    path(
        "password/check-your-email/",
        login_not_required(views.PasswordLinkSentView.as_view()),
        name="password-reset-sent",
    ),
    # The emailed link; Django swaps the token for "set-password" after checking it.
    path(
        "password/reset/<uidb64>/<token>/",
        login_not_required(views.PasswordCreateView.as_view()),
        name="password-reset-confirm",
    ),
    path(
        "password/done/",
        login_not_required(views.PasswordSetView.as_view()),
        name="password-reset-complete",
    ),
]
