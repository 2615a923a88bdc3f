"""Domain errors of approvals; the views turn them into pages and form errors."""

from django.conf import settings


class NoApproverAvailable(Exception):
    """Nobody but the requester could decide the case: no director, fallback or admin."""

    def __init__(self):
        super().__init__(
            "There is nobody to send your case to. Email the service's administrators at "
            f"{settings.SNS_CONTACT_EMAIL}."
        )


class ApprovalClosed(Exception):
    """The approval request can no longer be decided: decided, superseded, withdrawn…

    `why` is one of "decided", "withdrawn", "lapsed", "sent_back", "superseded".
    """

    def __init__(self, approval_request, why: str):
        self.approval_request = approval_request
        self.why = why
        super().__init__(f"{approval_request} is closed ({why})")


class ApprovalLostAuthority(Exception):
    """The approver no longer holds the authority the request was sent for (no longer the
    director, a delegation ended, no longer the fallback approver or an admin): nothing
    is decided. `authority` says why and who decides now."""

    def __init__(self, approval_request, authority):
        self.approval_request = approval_request
        self.authority = authority
        super().__init__(f"{approval_request}: {authority.reason}")


class ApprovalLinkExpired(Exception):
    """The emailed link is older than `SNS_APPROVAL_TOKEN_DAYS`."""

    def __init__(self, approval_request):
        self.approval_request = approval_request
        super().__init__(f"The link for {approval_request} has expired")


class DecisionInvalid(Exception):
    """The decision breaks a rule (a rejection without a reason, an end date out of range)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(message)


class DelegationInvalid(Exception):
    """A delegation breaks a rule; `field` is the form field to show it on (None: the
    whole form)."""

    def __init__(self, field: str | None, message: str):
        self.field = field
        self.message = message
        super().__init__(message)
