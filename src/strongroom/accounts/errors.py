"""The refusals of account actions."""

from __future__ import annotations


class AccountError(Exception):
    """A refused account action; ``str(exc)`` is the sentence to show the user."""


class RateLimited(AccountError):
    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after
