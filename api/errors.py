"""The read API's domain errors."""


class ServiceTokenInvalid(Exception):
    """A token cannot be created as asked; `field` is the form field to show it against."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


class TokenRefused(Exception):
    """A request's token is missing, unknown, expired or revoked (401)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class RateLimited(Exception):
    """The token has made its requests for this minute (429); `retry_after` in seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"Too many requests: try again in {retry_after} seconds")
        self.retry_after = retry_after
