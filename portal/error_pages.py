"""The service's own pages for errors: its GOV.UK layout, plain words and a way back.

Django calls the handlers named in `portal/urls.py` for 400, 403, 404 and 500, and
`CSRF_FAILURE_VIEW` when a form's CSRF check fails; a 405 comes from a view's method
decorator with an empty body, so a middleware gives it the same page. The 500 page is
rendered without the request's context processors, which read the session and the user from
the database: it must work when the database is what failed.
"""

from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token


@dataclass(frozen=True)
class ErrorPage:
    title: str
    lines: tuple[str, ...]
    status: int


PAGES = {
    400: ErrorPage(
        "Sorry, there is a problem with your request",
        (
            "The service could not understand what your browser sent.",
            "Go back and try again. If you typed the web address, check it is correct.",
        ),
        400,
    ),
    403: ErrorPage(
        "You cannot see this page",
        (
            "You do not have permission to see this page or to do this.",
            "If you think you should have, contact the service's administrators.",
        ),
        403,
    ),
    404: ErrorPage(
        "Page not found",
        (
            "If you typed the web address, check it is correct.",
            "If you pasted the web address, check you copied the entire address.",
            "If the web address is correct or you selected a link or button, contact the "
            "service's administrators.",
        ),
        404,
    ),
    405: ErrorPage(
        "Sorry, you cannot do that on this page",
        ("Go back to the page and use its buttons and links.",),
        405,
    ),
    500: ErrorPage(
        "Sorry, there is a problem with the service",
        (
            "Try again later.",
            "Answers you saved before this happened have not been lost.",
        ),
        500,
    ),
    "csrf": ErrorPage(
        "Sorry, your form could not be sent",
        (
            "This can happen when a page has been open for a long time, after you sign in "
            "or out in another tab, or when your browser blocks cookies.",
            "Go back, reload the page and try again. Answers you saved before have not been lost.",
        ),
        403,
    ),
}


def page_context(page: ErrorPage) -> dict:
    return {
        "error": page,
        "contact_email": settings.SNS_CONTACT_EMAIL,
        "contact_url": settings.SNS_CONTACT_URL,
    }


def error_response(request, key):
    page = PAGES[key]
    return render(request, "errors/error.html", page_context(page), status=page.status)


def bad_request(request, exception=None):
    return error_response(request, 400)


def permission_denied(request, exception=None):
    return error_response(request, 403)


def page_not_found(request, exception=None):
    return error_response(request, 404)


@requires_csrf_token
def server_error(request):
    context = {
        **page_context(PAGES[500]),
        "service_name": settings.SERVICE_NAME,
        "department_name": settings.DEPARTMENT_NAME,
    }
    return HttpResponseServerError(loader.get_template("errors/error.html").render(context))


def csrf_failure(request, reason=""):
    return error_response(request, "csrf")


class MethodNotAllowedPage:
    """Gives an empty 405 (from `require_safe`, `require_POST` or a class-based view) the
    service's page, keeping its Allow header."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or response.content:
            return response
        page = error_response(request, 405)
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page
