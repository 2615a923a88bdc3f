"""Requests whose query string or form cannot be read answer 400 with a GOV.UK page.

Django raises when it parses such a request (a form in a character set other than UTF-8,
more fields than `DATA_UPLOAD_MAX_NUMBER_FIELDS`, a body over `DATA_UPLOAD_MAX_MEMORY_SIZE`).
Its 400 view is guarded by the CSRF check, which reads the form again and raises again,
so the answer would be a 500. Reading both here, before any view or check, turns each
of those into one 400.
"""

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict

from .error_pages import error_response

FORM_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class UnreadableRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            request.GET  # noqa: B018 - parsed here so that a failure is caught here
            if request.method in FORM_METHODS:
                request.POST  # noqa: B018
        except (BadRequest, SuspiciousOperation, UnicodeDecodeError, LookupError):
            # Whatever draws the page below sees an empty query and form, not the error.
            request.GET = QueryDict()
            request._post, request._files = QueryDict(), MultiValueDict()
            return error_response(request, 400)
        return self.get_response(request)
