"""Domain errors the services raise and the views turn into messages."""


class TransitionNotAllowed(Exception):
    """The object is not in a status from which this change is allowed."""

    def __init__(self, obj, to_status: str):
        self.obj = obj
        self.from_status = obj.status
        self.to_status = to_status
        super().__init__(f"{obj} cannot go from {obj.status} to {to_status}")


class BusinessCaseIncomplete(Exception):
    """A case cannot be submitted until every question is answered."""

    def __init__(self, missing: list[str]):
        self.missing = missing
        super().__init__("Answer every question before you send the case: " + ", ".join(missing))


def transition_check(obj, to_status: str) -> None:
    """Raise unless `obj.TRANSITIONS` allows moving from its current status to `to_status`."""
    if to_status not in obj.TRANSITIONS.get(obj.status, set()):
        raise TransitionNotAllowed(obj, to_status)


class BusinessCaseNotEditable(Exception):
    """Only a draft's answers can change: a sent or decided case is read-only."""

    def __init__(self, case):
        self.case = case
        super().__init__(f"{case} has been sent and can no longer be changed")


class AnswerRefused(Exception):
    """An answer the question page should not have offered (a forged post): `field` is the
    form field to show `message` on."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class GrantError(Exception):
    """A change to a grant that cannot be made; the message is shown to the person."""


class AssetTagRequired(GrantError):
    def __init__(self):
        super().__init__("Enter the asset tag of the standalone PC")


class ReasonRequired(GrantError):
    def __init__(self):
        super().__init__("Enter a reason")


class NotRenewable(GrantError):
    """The grant cannot be renewed (yet, or any more); the message says why."""


class SiteError(Exception):
    """A change to the site catalogue that cannot be made; the message is shown to the admin."""


class SiteNameTaken(SiteError):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"A site called {name} already exists")


class NothingToWithdraw(Exception):
    """The grant has no access for ICT to withdraw: it has not ended, ICT never set it up, or
    its withdrawal is already recorded."""

    def __init__(self, grant):
        self.grant = grant
        super().__init__(f"{grant} has no access to withdraw")


class NotAskableAgain(Exception):
    """Only a case closed without access (rejected, withdrawn, lapsed) is asked again."""

    def __init__(self, case):
        self.case = case
        super().__init__("Only a rejected, withdrawn or expired request can be asked again")
