from django.urls import path

from access_requests.views import grants as grant_views

app_name = "access_requests"

urlpatterns = []

# Access grants (issue 5): ICT's provisioning queue and the holder's grant pages.
urlpatterns += [
    path("provisioning/", grant_views.provisioning_queue, name="provisioning-queue"),
    path("provisioning/<int:pk>/", grant_views.provisioning_grant, name="provisioning-grant"),
    path(
        "provisioning/<int:pk>/send-back/",
        grant_views.provisioning_send_back,
        name="provisioning-send-back",
    ),
    path("grants/<int:pk>/", grant_views.grant_detail, name="grant-detail"),
    path("grants/<int:pk>/renew/", grant_views.grant_renew, name="grant-renew"),
    path("grants/<int:pk>/let-it-lapse/", grant_views.grant_let_lapse, name="grant-lapse"),
    path("grants/<int:pk>/give-up/", grant_views.grant_surrender, name="grant-surrender"),
    path("grants/<int:pk>/revoke/", grant_views.grant_revoke, name="grant-revoke"),
    path("grants/<int:pk>/safe-use/", grant_views.grant_safe_use, name="grant-safe-use"),
]
