from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("", views.review_list, name="list"),
    path("start/", views.review_start, name="start"),
    path("<int:pk>/", views.review, name="review"),
    path("<int:pk>/keep-unmarked/", views.review_keep_unmarked, name="keep-unmarked"),
    path("<int:pk>/progress/", views.review_progress, name="progress"),
    path("<int:pk>/progress.csv", views.review_export, name="export"),
]
