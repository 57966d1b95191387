"""Forms parse and validate input; the services decide and act."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from strongroom.accounts.models import Email, User
from strongroom.accounts.passwords import MAX_PASSWORD_LENGTH, PasswordCandidate
from strongroom.accounts.usernames import MAX_LENGTH as USERNAME_MAX
from strongroom.accounts.usernames import validate_username

if TYPE_CHECKING:
    from django.utils.functional import _StrOrPromise as StrOrPromise


def _password_field(label: StrOrPromise, autocomplete: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
    )


def clean_email_address(raw: str) -> str:
    address = BaseUserManager.normalize_email(raw.strip())
    if Email.objects.filter(email__iexact=address).exists():
        raise ValidationError(_("This email address is already in use."), code="taken")
    return address


class _NewPasswordMixin(forms.Form):
    new_password = _password_field(_("New password"), "new-password")
    confirm_password = _password_field(_("Confirm new password"), "new-password")

    def password_user(self) -> Any:
        return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        new, confirm = cleaned.get("new_password"), cleaned.get("confirm_password")
        if new and confirm and new != confirm:
            self.add_error("confirm_password", _("The two passwords do not match."))
        elif new:
            try:
                password_validation.validate_password(new, self.password_user())
            except ValidationError as exc:
                self.add_error("new_password", exc)
        return cleaned


class RegistrationForm(_NewPasswordMixin):
    username = forms.CharField(
        label=_("Username"),
        max_length=USERNAME_MAX,
        help_text=_("Letters, digits, '.', '_' and '-'."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    field_order = ["username", "email", "new_password", "confirm_password"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["new_password"].label = _("Password")
        self.fields["confirm_password"].label = _("Confirm password")
        self.fields["new_password"].help_text = _(
            "At least 8 characters; not a common password, nor like your username or email."
        )

    def clean_username(self) -> str:
        name = validate_username(self.cleaned_data["username"])
        if User.objects.filter(username__iexact=name).exists():
            raise ValidationError(_("This username is already taken."), code="taken")
        return name

    def clean_email(self) -> str:
        return clean_email_address(self.cleaned_data["email"])

    def password_user(self) -> Any:
        return PasswordCandidate(
            self.cleaned_data.get("username", ""), self.cleaned_data.get("email", "")
        )


class LoginForm(forms.Form):
    login = forms.CharField(
        label=_("Username or email address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ReauthenticateForm(forms.Form):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        max_length=MAX_PASSWORD_LENGTH,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class ChangePasswordForm(_NewPasswordMixin):
    current_password = _password_field(_("Current password"), "current-password")
    field_order = ["current_password", "new_password", "confirm_password"]

    def __init__(self, user: User, *args: Any, **kwargs: Any):
        self.user = user
        super().__init__(*args, **kwargs)

    def password_user(self) -> Any:
        return self.user


class ResetRequestForm(forms.Form):
    login = forms.CharField(
        label=_("Username or email address"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )


class ResetPasswordForm(_NewPasswordMixin):
    def __init__(self, user: User, *args: Any, **kwargs: Any):
        self.user = user
        super().__init__(*args, **kwargs)

    def password_user(self) -> Any:
        return self.user


class AddEmailForm(forms.Form):
    email = forms.EmailField(
        label=_("New email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_email(self) -> str:
        return clean_email_address(self.cleaned_data["email"])


def _time_zone_choices() -> list[tuple[str, str]]:
    import zoneinfo

    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        choices=_time_zone_choices,
        help_text=_("Times on your security history are shown in this zone."),
    )
