"""The closed set of audit event tags, named ``source:subject:action``."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventTag(models.TextChoices):
    # accounts
    ACCOUNT_CREATE = "account:create", _("Account created")
    ACCOUNT_LOGIN_SUCCESS = "account:login:success", _("Logged in")
    ACCOUNT_LOGIN_FAILURE = "account:login:failure", _("Failed login")
    ACCOUNT_LOGOUT = "account:logout", _("Logged out")
    ACCOUNT_PASSWORD_CHANGE = "account:password:change", _("Password changed")
    ACCOUNT_PASSWORD_RESET_REQUEST = (
        "account:password:reset_request",
        _("Password reset requested"),
    )
    ACCOUNT_PASSWORD_RESET = "account:password:reset", _("Password reset")
    ACCOUNT_EMAIL_ADD = "account:email:add", _("Email address added")
    ACCOUNT_EMAIL_REMOVE = "account:email:remove", _("Email address removed")
    ACCOUNT_EMAIL_VERIFIED = "account:email:verified", _("Email address verified")
    ACCOUNT_EMAIL_PRIMARY_CHANGE = "account:email:primary_change", _("Primary email changed")
    ACCOUNT_SESSION_REVOKED = "account:session:revoked", _("Session ended")
    ACCOUNT_REAUTHENTICATE = "account:reauthenticate", _("Password confirmed")
    ACCOUNT_RATELIMIT_HIT = "account:ratelimit:hit", _("Rate limit reached")
    # second factors
    ACCOUNT_TWO_FACTOR_METHOD_ADDED = (
        "account:two_factor:method_added",
        _("Two-factor method added"),
    )
    ACCOUNT_TWO_FACTOR_METHOD_REMOVED = (
        "account:two_factor:method_removed",
        _("Two-factor method removed"),
    )
    ACCOUNT_RECOVERY_CODES_GENERATED = (
        "account:recovery_codes:generated",
        _("Recovery codes generated"),
    )
    ACCOUNT_RECOVERY_CODES_USED = "account:recovery_codes:used", _("Recovery code used")
    # API tokens
    ACCOUNT_API_TOKEN_ADDED = "account:api_token:added", _("API token created")
    ACCOUNT_API_TOKEN_REMOVED = "account:api_token:removed", _("API token revoked")
    ACCOUNT_API_TOKEN_REMOVED_LEAK = (
        "account:api_token:removed_leak",
        _("API token revoked after it was found published"),
    )
    ACCOUNT_UPLOAD_REFUSED = "account:upload:refused", _("Upload refused")
    PROJECT_API_TOKEN_ADDED = "project:api_token:added", _("API token for this project created")
    PROJECT_API_TOKEN_REMOVED = (
        "project:api_token:removed",
        _("API token for this project revoked"),
    )
    # projects and files
    PROJECT_CREATE = "project:create", _("Project created")
    PROJECT_REMOVE = "project:remove", _("Project removed")
    PROJECT_RELEASE_ADD = "project:release:add", _("Release added")
    PROJECT_RELEASE_REMOVE = "project:release:remove", _("Release removed")
    PROJECT_RELEASE_YANK = "project:release:yank", _("Release yanked")
    PROJECT_RELEASE_UNYANK = "project:release:unyank", _("Release un-yanked")
    # project governance (packages.governance, packages.critical)
    # An Owner invited an account to a role; the invitee's and the project's history.
    PROJECT_ROLE_INVITE = "project:role:invite", _("Collaborator invited")
    # The invitee accepted through the signed link and now holds the role.
    PROJECT_ROLE_ACCEPT = "project:role:accept", _("Invitation accepted")
    # The invitee declined through the signed link.
    PROJECT_ROLE_DECLINE = "project:role:decline", _("Invitation declined")
    # An Owner withdrew a pending invitation.
    PROJECT_ROLE_REVOKE_INVITE = "project:role:revoke_invite", _("Invitation revoked")
    # An Owner changed a collaborator's role (Owner <-> Maintainer).
    PROJECT_ROLE_CHANGE = "project:role:change", _("Collaborator's role changed")
    # An Owner removed another collaborator.
    PROJECT_ROLE_REMOVE = "project:role:remove", _("Collaborator removed")
    # A collaborator left the project on their own.
    PROJECT_ROLE_LEAVE = "project:role:leave", _("Collaborator left")
    # An Owner required (or stopped requiring) two-factor authentication for the project.
    PROJECT_TWO_FACTOR_REQUIRED_ENABLE = (
        "project:two_factor_required:enable",
        _("Two-factor authentication required"),
    )
    PROJECT_TWO_FACTOR_REQUIRED_DISABLE = (
        "project:two_factor_required:disable",
        _("Two-factor authentication no longer required"),
    )
    # An Owner made the project private (read by its collaborators and read tokens only)
    # or public again.
    PROJECT_VISIBILITY_CHANGE = "project:visibility:change", _("Project visibility changed")
    # Staff marked the project critical, or `strongroom critical update` found it popular.
    PROJECT_CRITICAL_MARKED = "project:critical:marked", _("Marked critical")
    # Staff removed their mark (a project critical by downloads stays critical).
    PROJECT_CRITICAL_UNMARKED = "project:critical:unmarked", _("Critical mark removed")
    # PEP 792 project status (packages.lifecycle): Owners archive and unarchive; staff
    # quarantine, release from quarantine, deprecate and undeprecate.
    PROJECT_STATUS_ARCHIVE = "project:status:archive", _("Project archived")
    PROJECT_STATUS_UNARCHIVE = "project:status:unarchive", _("Project unarchived")
    PROJECT_STATUS_QUARANTINE = "project:status:quarantine", _("Project quarantined by staff")
    PROJECT_STATUS_RELEASE = "project:status:release", _("Project released from quarantine")
    PROJECT_STATUS_DEPRECATE = "project:status:deprecate", _("Project deprecated by staff")
    PROJECT_STATUS_UNDEPRECATE = "project:status:undeprecate", _("Project no longer deprecated")
    # Reports of a project to staff (packages.reports).
    PROJECT_REPORT_ADD = "project:report:add", _("Project reported")
    PROJECT_REPORT_RESOLVE = "project:report:resolve", _("Report resolved by staff")
    PROJECT_NAME_ALLOW = "project:name:allow", _("Look-alike project name allowed by staff")
    # organisations and teams (orgs.services, orgs.teams, orgs.transfer)
    ORGANIZATION_CREATE = "organization:create", _("Organisation created")
    ORGANIZATION_MEMBER_INVITE = "organization:member:invite", _("Organisation member invited")
    ORGANIZATION_MEMBER_ACCEPT = (
        "organization:member:accept",
        _("Organisation invitation accepted"),
    )
    ORGANIZATION_MEMBER_DECLINE = (
        "organization:member:decline",
        _("Organisation invitation declined"),
    )
    ORGANIZATION_MEMBER_REVOKE_INVITE = (
        "organization:member:revoke_invite",
        _("Organisation invitation revoked"),
    )
    ORGANIZATION_MEMBER_ROLE_CHANGE = (
        "organization:member:role_change",
        _("Organisation member's role changed"),
    )
    ORGANIZATION_MEMBER_REMOVE = "organization:member:remove", _("Organisation member removed")
    ORGANIZATION_PROJECT_ADD = (
        "organization:project:add",
        _("Project transferred into an organisation"),
    )
    ORGANIZATION_PROJECT_REMOVE = (
        "organization:project:remove",
        _("Project transferred out of an organisation"),
    )
    ORGANIZATION_TWO_FACTOR_REQUIRED_ENABLE = (
        "organization:two_factor_required:enable",
        _("Organisation requires two-factor authentication"),
    )
    ORGANIZATION_TWO_FACTOR_REQUIRED_DISABLE = (
        "organization:two_factor_required:disable",
        _("Organisation no longer requires two-factor authentication"),
    )
    TEAM_CREATE = "team:create", _("Team created")
    TEAM_RENAME = "team:rename", _("Team renamed")
    TEAM_DELETE = "team:delete", _("Team deleted")
    TEAM_MEMBER_ADD = "team:member:add", _("Team member added")
    TEAM_MEMBER_REMOVE = "team:member:remove", _("Team member removed")
    TEAM_ROLE_GRANT = "team:role:grant", _("Team given a role on a project")
    TEAM_ROLE_REVOKE = "team:role:revoke", _("Team's role on a project removed")
    # account recovery (console.recovery): the user's steps, then staff's decision
    ACCOUNT_RECOVERY_REQUEST = "account:recovery:request", _("Account recovery requested")
    ACCOUNT_RECOVERY_CONFIRM = "account:recovery:confirm", _("Account recovery confirmed")
    ACCOUNT_RECOVERY_CANCEL = "account:recovery:cancel", _("Account recovery cancelled")
    # the staff console (console.services): one event per action, naming the staff member
    ADMIN_USER_SUSPEND = "admin:user:suspend", _("Account suspended by staff")
    ADMIN_USER_REACTIVATE = "admin:user:reactivate", _("Account reactivated by staff")
    ADMIN_USER_SESSIONS_END = "admin:user:sessions_end", _("Sessions ended by staff")
    ADMIN_USER_TOKEN_REVOKE = "admin:user:token_revoke", _("API token revoked by staff")
    ADMIN_USER_EMAIL_VERIFY = "admin:user:email_verify", _("Email address verified by staff")
    ADMIN_USER_STAFF_GRANT = "admin:user:staff_grant", _("Staff access granted")
    ADMIN_USER_STAFF_REVOKE = "admin:user:staff_revoke", _("Staff access removed")
    ADMIN_PROJECT_LIMITS = "admin:project:limits", _("Upload limit changed by staff")
    ADMIN_PROJECT_SIZE_LIMIT = "admin:project:size_limit", _("Total size limit changed by staff")
    ADMIN_PROJECT_CRITICAL = "admin:project:critical", _("Marked critical by staff")
    ADMIN_PROJECT_UNCRITICAL = "admin:project:uncritical", _("Staff's critical mark removed")
    ADMIN_PROJECT_REMOVE = "admin:project:remove", _("Project removed by staff")
    ADMIN_RECOVERY_APPROVE = "admin:recovery:approve", _("Account recovery approved by staff")
    ADMIN_RECOVERY_REJECT = "admin:recovery:reject", _("Account recovery refused by staff")
    # trusted publishing (publishing.services)
    PUBLISHING_ISSUER_ADD = "publishing:issuer:add", _("Trusted publishing issuer added")
    PUBLISHING_ISSUER_DISABLE = "publishing:issuer:disable", _("Trusted publishing issuer disabled")
    PUBLISHING_ISSUER_ENABLE = "publishing:issuer:enable", _("Trusted publishing issuer enabled")
    PUBLISHING_TOKEN_MINTED = "publishing:token:minted", _("Upload token minted for a publisher")
    PUBLISHING_TOKEN_REFUSED = "publishing:token:refused", _("OIDC token refused")
    PROJECT_PUBLISHER_ADD = "project:publisher:add", _("Trusted publisher added")
    PROJECT_PUBLISHER_REMOVE = "project:publisher:remove", _("Trusted publisher removed")
    ACCOUNT_PENDING_PUBLISHER_ADD = (
        "account:pending_publisher:add",
        _("Pending trusted publisher added"),
    )
    ACCOUNT_PENDING_PUBLISHER_REMOVE = (
        "account:pending_publisher:remove",
        _("Pending trusted publisher removed"),
    )
    PROJECT_TRUSTED_PUBLISHING_REQUIRED_ENABLE = (
        "project:trusted_publishing_required:enable",
        _("Trusted publishing required"),
    )
    PROJECT_TRUSTED_PUBLISHING_REQUIRED_DISABLE = (
        "project:trusted_publishing_required:disable",
        _("Trusted publishing no longer required"),
    )
    PROJECT_ATTESTATIONS_REQUIRED_ENABLE = (
        "project:attestations_required:enable",
        _("Attestations required"),
    )
    PROJECT_ATTESTATIONS_REQUIRED_DISABLE = (
        "project:attestations_required:disable",
        _("Attestations no longer required"),
    )
    PROJECT_ATTESTATION_REPOSITORY_CHANGED = (
        "project:attestation_repository:changed",
        _("Attestations signed by a different repository"),
    )
    PROJECT_ATTESTATION_REPOSITORY_CONFIRMED = (
        "project:attestation_repository:confirmed",
        _("New signing repository confirmed"),
    )
    # the upstream proxy (proxy.services, proxy.fetch, proxy.provenance)
    PROXY_FILE_REFUSED = (
        "proxy:file:refused",
        _("Upstream file refused: its bytes did not match the listed sha256"),
    )
    PROXY_PROVENANCE_FAILED = (
        "proxy:provenance:failed",
        _("Upstream provenance failed verification: the file is served as not attested"),
    )
    PROXY_COOLDOWN_ALLOW = "proxy:cooldown:allow", _("Upstream release let through the cooldown")
    PROXY_SHADOW_ALLOW = "proxy:shadow:allow", _("Local project allowed to shadow upstream")
    NAMESPACE_PREFIX_RESERVE = "namespace:prefix:reserve", _("Project name prefix reserved")
    FILE_ADD = "file:add", _("File uploaded")
    FILE_REMOVE = "file:remove", _("File removed")

    @classmethod
    def label_for(cls, value: str) -> str:
        try:
            return str(cls(value).label)
        except ValueError:
            return str(RETIRED_TAGS.get(value, value))


# Tags no service records any more, which older audit logs still hold: their events are
# described as before (docs/audit-events.md, "Retired tags").
RETIRED_TAGS = {
    # The stock admin's edits of an account's flags and a project's upload limit, before
    # the admin became read-only (now admin:user:* and admin:project:limits).
    "account:admin:change": _("Account changed by an administrator"),
    "project:admin:change": _("Project changed by an administrator"),
}
