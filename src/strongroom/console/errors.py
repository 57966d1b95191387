"""The refusal of a console or recovery action."""

from __future__ import annotations

from strongroom.accounts.errors import AccountError


class ConsoleError(AccountError):
    """A refused console or recovery action; ``str(exc)`` is the sentence to show."""
