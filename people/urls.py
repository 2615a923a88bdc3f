from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import views

app_name = "people"

# Without signing in: these are how a person gets a password to sign in with.
urlpatterns = [
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
