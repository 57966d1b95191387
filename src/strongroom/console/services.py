"""Every staff console action: one function, one transaction, one ``admin:*`` event that
names the staff member, and an email to the user it affects.

Each takes the staff member's ``Actor`` and, as ``code``, what confirms the action: a code
from their authenticator app or their security key's answer (``reauth.Proof``, checked by
``reauth.confirm_second_factor``): the console asks again for every action.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from strongroom.accounts.actors import Actor
from strongroom.accounts.models import Email, SessionRecord, User
from strongroom.accounts.session_records import end_sessions_except
from strongroom.console.errors import ConsoleError
from strongroom.console.models import Suspension
from strongroom.console.reauth import Proof, confirm_second_factor, require_console_staff
from strongroom.events.models import Event
from strongroom.events.services import record_event
from strongroom.events.tags import EventTag
from strongroom.notify.services import send_security_email
from strongroom.packages import critical
from strongroom.packages.models import Project, Role
from strongroom.packages.services import delete_project
from strongroom.tokens.models import ApiToken
from strongroom.web.http import absolute_url

REASON_MAX_LENGTH = 500
# The largest per-project upload limit staff may set: 10 GiB.
UPLOAD_LIMIT_CEILING = 10 * 1024**3
# The largest total size staff may allow one project: 10 TiB.
TOTAL_SIZE_LIMIT_CEILING = 10 * 1024**4


def _staff_and_code(actor: Actor, code: Proof) -> User:
    staff = require_console_staff(actor)
    confirm_second_factor(staff, code)
    return staff


def _tell(user: User, actor: Actor, event: Event, subject: str, message: str) -> None:
    """The notice to the affected user, about what the staff member did."""
    send_security_email(
        user,
        "console_notice",
        {"subject": subject, "message": message},
        actor=actor,
        event=event,
    )


def _locked_user(user: User) -> User:
    return User.objects.select_for_update().get(pk=user.pk)


def _ended_sessions(user: User) -> int:
    return end_sessions_except(user, None)


def suspend_user(actor: Actor, user: User, reason: str, *, code: Proof) -> Suspension:
    """Suspend ``user``: no login, no token, no upload from now on; their sessions end."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ConsoleError(_("Say why the account is suspended."))
    if len(reason) > REASON_MAX_LENGTH:
        raise ConsoleError(_("Keep the reason under 500 characters."))
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        user = _locked_user(user)
        if user.pk == staff.pk:
            raise ConsoleError(_("You cannot suspend your own account."))
        if Suspension.objects.filter(user=user).exists():
            raise ConsoleError(_("This account is already suspended."))
        suspension = Suspension.objects.create(user=user, reason=reason, suspended_by=staff)
        user.is_active = False
        user.save(update_fields=["is_active"])
        ended = _ended_sessions(user)
        event = record_event(
            EventTag.ADMIN_USER_SUSPEND,
            actor=actor,
            user=user,
            extra={"staff": staff.username, "reason": reason, "sessions_ended": ended},
        )
        _tell(
            user,
            actor,
            event,
            _("Your account was suspended"),
            _(
                "Staff suspended your account: you cannot log in, and your API tokens do "
                "not work. The reason given: %(reason)s"
            )
            % {"reason": reason},
        )
    return suspension


def reactivate_user(actor: Actor, user: User, *, code: Proof) -> None:
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        user = _locked_user(user)
        deleted, _rows = Suspension.objects.filter(user=user).delete()
        if not deleted:
            raise ConsoleError(_("This account is not suspended."))
        user.is_active = True
        user.save(update_fields=["is_active"])
        event = record_event(
            EventTag.ADMIN_USER_REACTIVATE, actor=actor, user=user, extra={"staff": staff.username}
        )
        _tell(
            user,
            actor,
            event,
            _("Your account was reactivated"),
            _("Staff reactivated your account: you can log in and upload again."),
        )


def end_user_sessions(actor: Actor, user: User, *, code: Proof) -> int:
    """Sign ``user`` out everywhere; how many sessions ended."""
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        if not SessionRecord.objects.filter(user=user).exists():
            raise ConsoleError(_("This account has no session to end."))
        ended = _ended_sessions(user)
        event = record_event(
            EventTag.ADMIN_USER_SESSIONS_END,
            actor=actor,
            user=user,
            extra={"staff": staff.username, "sessions_ended": ended},
        )
        _tell(
            user,
            actor,
            event,
            _("You were signed out"),
            _("Staff ended your sessions: every browser signed in to your account is signed out."),
        )
    return ended


def revoke_user_token(actor: Actor, user: User, token_id: str, *, code: Proof) -> None:
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        token_uuid = _uuid(token_id)
        token = (
            ApiToken.objects.select_for_update().filter(pk=token_uuid, user=user).first()
            if token_uuid is not None
            else None
        )
        if token is None:
            raise ConsoleError(_("That API token does not exist or was already revoked."))
        projects = sorted(p.normalized_name for p in token.projects.all())
        event = record_event(
            EventTag.ADMIN_USER_TOKEN_REVOKE,
            actor=actor,
            user=user,
            extra={
                "staff": staff.username,
                "token_id": str(token.pk),
                "name": token.name,
                "projects": ", ".join(projects),
            },
        )
        token.delete()
        send_security_email(
            user,
            "token_revoked",
            {
                "token_name": token.name,
                "revoked_by": staff,
                "tokens_url": absolute_url(reverse("tokens:list")),
            },
            actor=actor,
            event=event,
        )


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


def verify_user_email(actor: Actor, user: User, email_id: int, *, code: Proof) -> Email:
    """Mark one of ``user``'s addresses verified (staff checked it another way)."""
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        email = Email.objects.select_for_update().filter(pk=email_id, user=user).first()
        if email is None:
            raise ConsoleError(_("That email address is not on this account."))
        if email.verified:
            raise ConsoleError(_("That email address is already verified."))
        email.verified = True
        email.verified_at = timezone.now()
        email.verification_nonce = ""
        email.save(update_fields=["verified", "verified_at", "verification_nonce"])
        event = record_event(
            EventTag.ADMIN_USER_EMAIL_VERIFY,
            actor=actor,
            user=user,
            extra={"staff": staff.username, "email": email.email},
        )
        _tell(
            user,
            actor,
            event,
            _("An email address was verified"),
            _("Staff marked your address %(email)s as verified.") % {"email": email.email},
        )
    return email


def grant_staff(actor: Actor, user: User, *, code: Proof) -> None:
    """Make ``user`` staff (the staff flag, and the superuser flag the read-only admin's
    record pages need, as ``strongroom createadmin`` sets both). The console still opens
    for them only once they have a second factor."""
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        user = _locked_user(user)
        if user.is_staff:
            raise ConsoleError(_("This account is already staff."))
        if not user.is_active:
            raise ConsoleError(_("A suspended or inactive account cannot be made staff."))
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
        event = record_event(
            EventTag.ADMIN_USER_STAFF_GRANT, actor=actor, user=user, extra={"staff": staff.username}
        )
        _tell(
            user,
            actor,
            event,
            _("You are now staff"),
            _(
                "%(staff)s made your account staff. The staff console opens once your "
                "account has a second factor; every action there asks for it again."
            )
            % {"staff": staff.username},
        )


def revoke_staff(actor: Actor, user: User, *, code: Proof) -> None:
    """Take ``user``'s staff and superuser flags away (not one's own: staff cannot lock
    the last of themselves out)."""
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        user = _locked_user(user)
        if user.pk == staff.pk:
            raise ConsoleError(_("You cannot remove your own staff access."))
        if not (user.is_staff or user.is_superuser):
            raise ConsoleError(_("This account is not staff."))
        user.is_staff = user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
        event = record_event(
            EventTag.ADMIN_USER_STAFF_REVOKE,
            actor=actor,
            user=user,
            extra={"staff": staff.username},
        )
        _tell(
            user,
            actor,
            event,
            _("You are no longer staff"),
            _("%(staff)s removed your account's staff access.") % {"staff": staff.username},
        )


def _owners(project: Project) -> list[User]:
    return list(
        User.objects.filter(
            project_roles__project=project, project_roles__role_name=Role.Name.OWNER
        )
    )


def set_upload_limit(actor: Actor, project: Project, limit: int | None, *, code: Proof) -> None:
    """Set the largest file ``project`` may upload (None: the site default)."""
    if limit is not None and not 1 <= limit <= UPLOAD_LIMIT_CEILING:
        raise ConsoleError(_("Give an upload limit between 1 byte and 10 GiB."))
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        project = Project.objects.select_for_update().get(pk=project.pk)
        old = project.upload_limit
        if old == limit:
            raise ConsoleError(_("The project already has that upload limit."))
        project.upload_limit = limit
        project.save(update_fields=["upload_limit"])
        event = record_event(
            EventTag.ADMIN_PROJECT_LIMITS,
            actor=actor,
            project=project,
            extra={"staff": staff.username, "project": project.name, "old": old, "new": limit},
        )
        message = _("Staff changed the upload limit of %(project)s.") % {"project": project.name}
        for owner in _owners(project):
            _tell(owner, actor, event, _("A project's upload limit changed"), message)


def set_total_size_limit(actor: Actor, project: Project, limit: int | None, *, code: Proof) -> None:
    """Set the most ``project``'s files may add up to (None: STRONGROOM_PROJECT_SIZE_LIMIT);
    its Owners are told the new limit."""
    if limit is not None and not 1 <= limit <= TOTAL_SIZE_LIMIT_CEILING:
        raise ConsoleError(_("Give a total size limit between 1 byte and 10 TiB."))
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        project = Project.objects.select_for_update().get(pk=project.pk)
        old = project.total_size_limit
        if old == limit:
            raise ConsoleError(_("The project already has that total size limit."))
        project.total_size_limit = limit
        project.save(update_fields=["total_size_limit"])
        event = record_event(
            EventTag.ADMIN_PROJECT_SIZE_LIMIT,
            actor=actor,
            project=project,
            extra={"staff": staff.username, "project": project.name, "old": old, "new": limit},
        )
        message = _(
            "Staff changed the total size limit of %(project)s: all its files together may "
            "now take %(limit)s."
        ) % {
            "project": project.name,
            "limit": filesizeformat(limit or settings.PROJECT_SIZE_LIMIT),
        }
        for owner in _owners(project):
            _tell(owner, actor, event, _("A project's total size limit changed"), message)


def mark_project_critical(actor: Actor, project: Project, *, code: Proof) -> None:
    """Mark ``project`` critical (packages.critical tells its collaborators)."""
    with transaction.atomic():
        _staff_and_code(actor, code)
        if Project.objects.filter(pk=project.pk, marked_critical=True).exists():
            raise ConsoleError(_("Staff already marked this project critical."))
        critical.mark_critical(actor, project, tag=EventTag.ADMIN_PROJECT_CRITICAL)


def unmark_project_critical(actor: Actor, project: Project, *, code: Proof) -> None:
    """Remove staff's critical mark (a project critical by downloads stays critical)."""
    with transaction.atomic():
        _staff_and_code(actor, code)
        if not Project.objects.filter(pk=project.pk, marked_critical=True).exists():
            raise ConsoleError(_("Staff have not marked this project critical."))
        critical.unmark_critical(actor, project, tag=EventTag.ADMIN_PROJECT_UNCRITICAL)


def remove_project(actor: Actor, project: Project, confirm_name: str, *, code: Proof) -> None:
    """Delete ``project`` with every release and file; its Owners are told."""
    if (confirm_name or "").strip() != project.name:
        raise ConsoleError(_("Type the project's name exactly to remove it."))
    with transaction.atomic():
        staff = _staff_and_code(actor, code)
        project = Project.objects.select_for_update().get(pk=project.pk)
        owners = _owners(project)
        event = record_event(
            EventTag.ADMIN_PROJECT_REMOVE,
            actor=actor,
            project=project,
            extra={"staff": staff.username, "project": project.name},
        )
        message = _("Staff removed the project %(project)s.") % {"project": project.name}
        for owner in owners:
            _tell(owner, actor, event, _("A project was removed"), message)
        delete_project(project)
