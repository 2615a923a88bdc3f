from django.urls import path

from . import views

app_name = "staffing"

urlpatterns = [
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/switch-off/", views.person_switch_off, name="person-switch-off"),
    path("people/<int:pk>/switch-on/", views.person_switch_on, name="person-switch-on"),
]
