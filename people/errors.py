"""The people app's domain errors, which views turn into pages."""


class PasswordLinkThrottled(Exception):
    """Too many password-link requests from one client address or for one email address
    in the window: nothing is sent."""
