"""A URL conf for `test_fixed_urls`: the help page at another address."""

from django.http import HttpResponse
from django.urls import path

urlpatterns = [path("elsewhere/help/", lambda request: HttpResponse(), name="help")]
