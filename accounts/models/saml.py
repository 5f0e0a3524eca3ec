"""Single sign-on through a university's SAML identity provider (CARSI): the assertions already used (so a
captured response cannot be replayed) and the memberships that a university's sign-in created (so the next
sign-in may change or remove them, and nothing else)."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models.organisations import Membership


class SamlAssertionQuerySet(models.QuerySet):
    def expired(self, now) -> "SamlAssertionQuerySet":
        return self.filter(not_on_or_after__lte=now)


class SamlAssertion(models.Model):
    """An accepted SAML assertion, kept until it would have expired anyway (its NotOnOrAfter): until then the
    same assertion ID from the same identity provider is refused."""

    issuer = models.CharField(_("identity provider"), max_length=255)
    assertion_id = models.CharField(_("assertion ID"), max_length=255)
    app = models.CharField(_("SAML application"), max_length=191)
    not_on_or_after = models.DateTimeField(_("valid until"), db_index=True)
    accepted_at = models.DateTimeField(_("accepted"), auto_now_add=True)

    objects = SamlAssertionQuerySet.as_manager()

    class Meta:
        verbose_name = _("SAML assertion")
        verbose_name_plural = _("SAML assertions")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "assertion_id"], name="saml_assertion_unique_id"),
            models.CheckConstraint(condition=~Q(assertion_id=""), name="saml_assertion_id_not_empty"),
        ]

    def __str__(self):
        return f"{self.assertion_id} ({self.issuer})"


class SamlMembership(models.Model):
    """The source of a membership that a university's SAML sign-in created (accounts/carsi.py): the
    application (SocialApp client_id) and the affiliations it last asserted. Memberships without this row
    (invitations, organisations people created) are never changed or removed by a sign-in."""

    membership = models.OneToOneField(
        Membership,
        verbose_name=_("membership"),
        on_delete=models.CASCADE,
        related_name="saml_source",
    )
    app = models.CharField(_("SAML application"), max_length=191, db_index=True)
    affiliations = models.JSONField(_("affiliations"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("membership from a university sign-in")
        verbose_name_plural = _("memberships from university sign-ins")

    def __str__(self):
        return f"{self.membership} ← {self.app}"
