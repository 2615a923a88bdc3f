from django.contrib.auth.decorators import permission_required
from django.urls import path

from access_requests.views import (
    business_cases as case_views,
    grants as grant_views,
    ict as ict_views,
    sites as site_views,
)

app_name = "access_requests"

# Asking for access is for everyone but auditors, who read only.
may_ask = permission_required("access_requests.add_businesscase", raise_exception=True)

urlpatterns = [
    # The staff journey (business cases).
    path("", may_ask(case_views.case_list), name="case-list"),
    path("new/", may_ask(case_views.case_start), name="case-start"),
    path("<int:pk>/", may_ask(case_views.case_detail), name="case-detail"),
    path("<int:pk>/continue/", may_ask(case_views.case_continue), name="case-continue"),
    path("<int:pk>/sites/", may_ask(case_views.SitesView.as_view()), name="case-sites"),
    path("<int:pk>/tier/", may_ask(case_views.TierView.as_view()), name="case-tier"),
    path(
        "<int:pk>/standalone-pc/",
        may_ask(case_views.StandalonePcView.as_view()),
        name="case-standalone-pc",
    ),
    path("<int:pk>/need/", may_ask(case_views.NeedView.as_view()), name="case-need"),
    path("<int:pk>/dates/", may_ask(case_views.DatesView.as_view()), name="case-dates"),
    path(
        "<int:pk>/identity/<int:site_pk>/",
        may_ask(case_views.IdentityView.as_view()),
        name="case-identity",
    ),
    path(
        "<int:pk>/declarations/",
        may_ask(case_views.DeclarationsView.as_view()),
        name="case-declarations",
    ),
    path("<int:pk>/check/", may_ask(case_views.case_check), name="case-check"),
    path("<int:pk>/sent/", may_ask(case_views.case_confirmation), name="case-confirmation"),
    path("<int:pk>/delete/", may_ask(case_views.case_delete), name="case-delete"),
    path("<int:pk>/withdraw/", may_ask(case_views.case_withdraw), name="case-withdraw"),
    path("<int:pk>/ask-again/", may_ask(case_views.case_ask_again), name="case-ask-again"),
]

# Access grants (issue 5): ICT's provisioning queue and the holder's grant pages.
urlpatterns += [
    path("provisioning/", grant_views.provisioning_queue, name="provisioning-queue"),
    path("provisioning/<int:pk>/", grant_views.provisioning_grant, name="provisioning-grant"),
    path(
        "provisioning/<int:pk>/send-back/",
        grant_views.provisioning_send_back,
        name="provisioning-send-back",
    ),
    path("provisioning/withdraw/", ict_views.access_to_withdraw, name="access-to-withdraw"),
    path(
        "provisioning/withdraw/<int:pk>/",
        ict_views.withdrawal_confirm,
        name="withdrawal-confirm",
    ),
    path("provisioning/pcs/", ict_views.standalone_pcs, name="standalone-pcs"),
    path("grants/<int:pk>/", grant_views.grant_detail, name="grant-detail"),
    path("grants/<int:pk>/renew/", grant_views.grant_renew, name="grant-renew"),
    path("grants/<int:pk>/let-it-lapse/", grant_views.grant_let_lapse, name="grant-lapse"),
    path("grants/<int:pk>/give-up/", grant_views.grant_surrender, name="grant-surrender"),
    path("grants/<int:pk>/revoke/", grant_views.grant_revoke, name="grant-revoke"),
    path("grants/<int:pk>/safe-use/", grant_views.grant_safe_use, name="grant-safe-use"),
]

# Manage sites: the catalogue, for admins (auditors see the list).
urlpatterns += [
    path("sites/", site_views.site_list, name="site-list"),
    path("sites/add/", site_views.site_add, name="site-add"),
    path("sites/<int:pk>/rename/", site_views.site_rename, name="site-rename"),
    path("sites/<int:pk>/retire/", site_views.site_retire, name="site-retire"),
    path("sites/<int:pk>/offer-again/", site_views.site_unretire, name="site-unretire"),
]
