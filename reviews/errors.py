"""What an access review refuses, for the views to turn into pages and form errors."""


class ReviewError(Exception):
    passed_on = False


class NothingToReview(ReviewError):
    def __init__(self):
        super().__init__("There is no current access in this scope to review")


class DueDateNotAfterToday(ReviewError):
    def __init__(self):
        super().__init__("The date the review is due must be in the future")


class ReviewClosed(ReviewError):
    def __init__(self, review):
        self.review = review
        super().__init__("This review has ended: its decisions can no longer change")


class AlreadyReviewed(ReviewError):
    """Someone (another tab, another reviewer, the review's end) decided this item first."""

    def __init__(self, item):
        self.item = item
        super().__init__("This access was already reviewed")


class GrantEndedMeanwhile(ReviewError):
    """The grant ended (expired, revoked, given up) after the review started."""

    def __init__(self, item):
        self.item = item
        super().__init__("This access ended after the review started: there is nothing to decide")


class ReviewPassedOn(ReviewError):
    """After the due date the item went to the fallback reviewer (escalation), so its first
    reviewer no longer decides it."""

    passed_on = True

    def __init__(self, item):
        self.item = item
        super().__init__("After the due date this access went to someone else to review")


class ReasonRequired(ReviewError):
    def __init__(self):
        super().__init__("Enter why this access should end")
