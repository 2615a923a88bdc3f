from django.urls import path

from . import views

app_name = "approvals"

urlpatterns = [
    path("", views.case_list, name="case-list"),
    path("cases/<int:pk>/", views.decide_signed_in, name="decide-signed-in"),
    # The emailed link: the token is the credential for one approver and one case.
    path("decide/<str:token>/", views.decide, name="decide"),
    path("delegations/", views.delegation_list, name="delegation-list"),
    path("delegations/new/", views.delegation_create, name="delegation-create"),
    path("delegations/<int:pk>/cancel/", views.delegation_cancel, name="delegation-cancel"),
]
