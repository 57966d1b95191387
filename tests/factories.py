"""factory_boy factories with traits: ``UserFactory(verified=True)``."""

from __future__ import annotations

import factory
from django.utils import timezone

from strongroom.accounts.models import Email, User

PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    class Params:
        staff = factory.Trait(is_staff=True, is_superuser=True)

    @factory.post_generation
    def email(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if not create:
            return
        address = extracted or f"{self.username}@example.org"
        verified = kwargs.get("verified", True)
        Email.objects.create(
            user=self,
            email=address,
            primary=True,
            verified=bool(verified),
            verified_at=timezone.now() if verified else None,
        )
        self.save()
