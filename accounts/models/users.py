"""People: the user model (the email address is the login, or a verified mobile number: accounts.models.phones)."""

from django.contrib.auth.models import AbstractBaseUser, PermissionsMixin
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class UserManager(DjangoUserManager):
    use_in_migrations = True

    def with_consent(self, purpose: str):
        """People who currently consent to ``purpose``: anything relying on a consent starts here."""
        return self.filter(is_active=True, consents__purpose=purpose, consents__withdrawn_at__isnull=True)

    def _create_user(self, email, password, **extra_fields):
        # People who sign up with a mobile number may have no email address (None, never ""); staff have one.
        if not email and (extra_fields.get("is_staff") or extra_fields.get("is_superuser")):
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower() if email else None, **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; the email address is the login. People who signed up with a mobile number may have none
    (NULL: unique only when set); everything that mails a person skips them."""

    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("back-office access"), default=False, help_text=_("Set by the operator and supervisor roles.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"), condition=models.Q(email__isnull=False), name="user_email_ci_unique"
            )
        ]

    def save(self, *args, **kwargs):
        if not self.email:
            self.email = None  # "" would collide with the next person without an address
        super().save(*args, **kwargs)

    def __str__(self):
        return self.name or self.email or self._anonymous_label()

    def get_full_name(self):
        return self.name or self.email or self._anonymous_label()

    def get_short_name(self):
        return self.name or (self.email.split("@")[0] if self.email else self._anonymous_label())

    def _anonymous_label(self) -> str:
        return _("person #%(id)s") % {"id": self.pk or "-"}
