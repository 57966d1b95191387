"""Users with an authenticator app (shared with tests/mfa), a JavaScript-free browser page."""

from tests.e2e.browser import page  # noqa: F401
from tests.mfa.conftest import _private_rate_limit_store, codes, totp_user  # noqa: F401
