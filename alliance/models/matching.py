"""What members offer and ask for: solutions (moderated), needs, and interest in a match."""

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation
from alliance.models.directory import DirectoryEntry
from alliance.models.membership import REASON_FOR_ORGANISATION, is_alliance_member, rejection_has_reason
from alliance.models.profiles import CapabilityTag, Scenario
from core.exceptions import InvalidTransition
from core.roles import sees_all_organisations
from core.states import Decided, StatusMachine


def _of_own_organisation(user) -> Exists:
    """Rows of an organisation the person is a member of."""
    return Exists(Membership.objects.filter(organisation=OuterRef("organisation"), user=user))


class OwnedQuerySet(models.QuerySet):
    def own(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(_of_own_organisation(user))


class SolutionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING = "pending", _("Pending moderation")
    PUBLISHED = "published", _("Published")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SolutionQuerySet(OwnedQuerySet):
    def published(self) -> "SolutionQuerySet":
        """Published solutions of organisations listed in the directory today."""
        return self.filter(
            status=SolutionStatus.PUBLISHED,
            organisation__in=DirectoryEntry.objects.listed().values("organisation"),
        )

    def for_user(self, user) -> "SolutionQuerySet":
        """What a person may open: published ones, and every solution of their own organisations."""
        if sees_all_organisations(user):
            return self
        visible = Q(pk__in=self.published().values("pk"))
        if getattr(user, "is_authenticated", False):
            visible |= Q(_of_own_organisation(user))
        return self.filter(visible)


class Solution(Decided):
    """A member's AI solution or case, published after moderation."""

    TRANSITION_ERROR = _("A solution cannot go from “%(old)s” to “%(new)s”.")
    REASON_MISSING = REASON_FOR_ORGANISATION

    TRANSITIONS = {
        SolutionStatus.DRAFT: {SolutionStatus.PENDING, SolutionStatus.WITHDRAWN},
        SolutionStatus.PENDING: {SolutionStatus.PUBLISHED, SolutionStatus.REJECTED, SolutionStatus.WITHDRAWN},
        SolutionStatus.REJECTED: {SolutionStatus.PENDING, SolutionStatus.WITHDRAWN},
        SolutionStatus.PUBLISHED: {SolutionStatus.PENDING, SolutionStatus.WITHDRAWN},
        SolutionStatus.WITHDRAWN: {SolutionStatus.PENDING},
    }
    EDITABLE = (
        SolutionStatus.DRAFT,
        SolutionStatus.REJECTED,
        SolutionStatus.WITHDRAWN,
        SolutionStatus.PUBLISHED,
    )

    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("organisation"),
        on_delete=models.CASCADE,
        related_name="alliance_solutions",
    )
    title = models.CharField(_("title"), max_length=200)
    scenario = models.CharField(_("scenario"), max_length=32, choices=Scenario.choices)
    description = models.TextField(_("description"), max_length=10000)
    outcome = models.TextField(_("outcome"), max_length=5000, blank=True)
    image = models.ImageField(_("image"), upload_to="alliance/solutions/%Y/", blank=True)
    capabilities = models.ManyToManyField(
        CapabilityTag, verbose_name=_("capabilities"), blank=True, related_name="solutions"
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SolutionStatus.choices,
        default=SolutionStatus.DRAFT,
        db_index=True,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)

    objects = SolutionQuerySet.as_manager()

    class Meta(Decided.Meta):
        verbose_name = _("solution")
        verbose_name_plural = _("solutions")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SolutionStatus.values), name="solution_status_valid"
            ),
            models.CheckConstraint(condition=Q(scenario__in=Scenario.values), name="solution_scenario_valid"),
            rejection_has_reason("solution"),
        ]
        indexes = [
            models.Index(fields=["organisation", "-id"], name="solution_org_idx"),
            models.Index(fields=["scenario"], condition=Q(status="published"), name="solution_published_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("alliance:solution_detail", args=[self.pk])

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    def submit(self) -> str:
        old = self.move_to(SolutionStatus.PENDING)
        self.submitted_at = timezone.now()
        self.touch("submitted_at")
        return old

    def publish(self, *, by) -> str:
        return self.decide(SolutionStatus.PUBLISHED, by=by)

    def reject(self, *, by, reason: str) -> str:
        return self.decide(SolutionStatus.REJECTED, by=by, reason=reason)

    def withdraw(self) -> str:
        return self.move_to(SolutionStatus.WITHDRAWN)


class NeedKind(models.TextChoices):
    TECHNOLOGY = "technology", _("Technology need")
    TALENT = "talent", _("Talent need")


class NeedStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class NeedQuerySet(OwnedQuerySet):
    def for_user(self, user) -> "NeedQuerySet":
        """Open needs are for alliance members; an organisation sees all of its own; staff see all."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        own = Q(_of_own_organisation(user))
        if is_alliance_member(user):
            return self.filter(own | Q(status=NeedStatus.OPEN))
        return self.filter(own)

    def open(self) -> "NeedQuerySet":
        return self.filter(status=NeedStatus.OPEN)


class Need(StatusMachine):
    """A member's technology need (a problem looking for a solution) or talent need (skills and people)."""

    TRANSITIONS = {NeedStatus.OPEN: {NeedStatus.CLOSED}, NeedStatus.CLOSED: {NeedStatus.OPEN}}

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.CASCADE, related_name="alliance_needs"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=NeedKind.choices)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=5000)
    scenario = models.CharField(_("scenario"), max_length=32, choices=Scenario.choices)
    capabilities = models.ManyToManyField(
        CapabilityTag, verbose_name=_("capabilities wanted"), blank=True, related_name="needs"
    )
    skills = models.CharField(_("skills"), max_length=300, blank=True)
    people = models.PositiveIntegerField(_("number of people"), default=0)
    status = models.CharField(_("status"), max_length=16, choices=NeedStatus.choices, default=NeedStatus.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("posted"), auto_now_add=True)

    objects = NeedQuerySet.as_manager()

    class Meta:
        verbose_name = _("need")
        verbose_name_plural = _("needs")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NeedKind.values), name="need_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=NeedStatus.values), name="need_status_valid"),
            models.CheckConstraint(condition=Q(scenario__in=Scenario.values), name="need_scenario_valid"),
            models.CheckConstraint(
                condition=~Q(kind="talent") | Q(people__gte=1), name="need_talent_has_people"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "kind", "-id"], name="need_status_kind_idx"),
            models.Index(fields=["organisation", "-id"], name="need_org_idx"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("alliance:need_detail", args=[self.pk])

    def move_to(self, new_status: str, *, same_is_fine: bool = False) -> str:
        if not self.can_move_to(new_status):
            raise InvalidTransition(_("This need is already %(status)s.") % {"status": self.status_label()})
        return super().move_to(new_status, same_is_fine=same_is_fine)

    def close(self) -> str:
        return self.move_to(NeedStatus.CLOSED)

    def reopen(self) -> str:
        return self.move_to(NeedStatus.OPEN)


class InterestQuerySet(models.QuerySet):
    def for_user(self, user) -> "InterestQuerySet":
        """Interests where one of the person's organisations is one of the two sides."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if sees_all_organisations(user):
            return self
        mine = Membership.objects.filter(user=user).values("organisation")
        return self.filter(Q(organisation__in=mine) | Q(need__organisation__in=mine))


class Interest(models.Model):
    """One side's interest in a match: a member offering itself (or a solution) for a need, or a need's owner
    inviting a suggested member."""

    class Direction(models.TextChoices):
        OFFER = "offer", _("Offered to the need")
        INVITE = "invite", _("Invited by the need's owner")

    need = models.ForeignKey(Need, verbose_name=_("need"), on_delete=models.CASCADE, related_name="interests")
    organisation = models.ForeignKey(
        Organisation,
        verbose_name=_("matched organisation"),
        on_delete=models.CASCADE,
        related_name="alliance_interests",
    )
    solution = models.ForeignKey(
        Solution,
        verbose_name=_("solution"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    direction = models.CharField(_("direction"), max_length=8, choices=Direction.choices)
    message = models.TextField(_("message"), max_length=2000, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("expressed"), auto_now_add=True)

    objects = InterestQuerySet.as_manager()

    class Meta:
        verbose_name = _("interest")
        verbose_name_plural = _("interests")
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(direction__in=["offer", "invite"]), name="interest_direction_valid"
            ),
            models.UniqueConstraint(
                fields=["need", "organisation", "direction"], name="interest_unique_per_side"
            ),
        ]

    def __str__(self):
        return f"{self.organisation_id and self.organisation} ↔ {self.need_id and self.need}"
