"""Every second-factor rule, once, one module per concept: adding and removing factors
(changes, authenticator, security_keys), recovery codes, limits on attempts and the second
login step. Each write runs in one transaction with its audit event and email.

Views and any other path (admin, CLI) call these functions and nothing below them.
"""
