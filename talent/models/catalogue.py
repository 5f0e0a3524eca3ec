"""The catalogue: programmes group courses towards one goal; a course is what cohorts teach."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.roles import sees_all_organisations
from core.text import bilingual
from talent.models.choices import Category, Level
from talent.validators import validate_cover_image


class Titled:
    """A catalogue entry: its page by slug, and its title and description in the reader's language."""

    URL_NAME = ""

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse(self.URL_NAME, args=[self.slug])

    @property
    def title(self) -> str:
        return bilingual(self.title_zh, self.title_en)

    @property
    def description(self) -> str:
        return bilingual(self.description_zh, self.description_en)


class Programme(Titled, models.Model):
    """A group of courses towards one goal, e.g. "AI engineer" (not ``projects.Programme``, an incubation
    programme: the verbose names keep the two apart in the admin)."""

    URL_NAME = "talent:programme_detail"

    slug = models.SlugField(_("short name"), unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    description_zh = models.TextField(_("description (Chinese)"), blank=True, max_length=5000)
    description_en = models.TextField(_("description (English)"), blank=True, max_length=5000)
    is_published = models.BooleanField(_("published"), default=False)

    class Meta:
        verbose_name = _("training programme")
        verbose_name_plural = _("training programmes")
        ordering = ["slug"]


class CourseQuerySet(models.QuerySet):
    def published(self) -> "CourseQuerySet":
        return self.filter(is_published=True)

    def for_user(self, user) -> "CourseQuerySet":
        """Published courses for everyone; operators and supervisors also see drafts."""
        if sees_all_organisations(user):
            return self
        return self.published()


class Course(Titled, models.Model):
    URL_NAME = "talent:course_detail"

    programme = models.ForeignKey(
        Programme,
        # "programme" alone is incubation's word in Chinese (孵化计划): this one is a training programme.
        verbose_name=pgettext_lazy("training", "programme"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="courses",
    )
    slug = models.SlugField(_("short name"), unique=True)
    title_zh = models.CharField(_("title (Chinese)"), max_length=200)
    title_en = models.CharField(_("title (English)"), max_length=200)
    description_zh = models.TextField(_("description (Chinese)"), max_length=10000)
    description_en = models.TextField(_("description (English)"), max_length=10000)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, default=Level.BEGINNER)
    category = models.CharField(_("category"), max_length=32, choices=Category.choices)
    prerequisites = models.TextField(_("prerequisites"), blank=True, max_length=5000)
    syllabus = models.TextField(
        _("syllabus"), blank=True, max_length=20000, help_text=_("One topic per line.")
    )
    instructors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("instructors"),
        blank=True,
        related_name="talent_courses",
        help_text=_("People with the instructor role who teach this course."),
    )
    cover_image = models.ImageField(
        _("cover image"),
        upload_to="talent/covers/%Y/",
        blank=True,
        validators=[validate_cover_image],
        help_text=_("PNG or JPEG, landscape."),
    )
    is_published = models.BooleanField(_("published"), default=False)
    answers_needs = models.ManyToManyField(
        "alliance.Need",
        verbose_name=_("answers alliance talent needs"),
        blank=True,
        related_name="training_courses",
        limit_choices_to={"kind": "talent"},
        help_text=_("Alliance members who posted these needs are told when a cohort of the course opens."),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = CourseQuerySet.as_manager()

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")
        ordering = ["slug"]
        constraints = [
            models.CheckConstraint(condition=Q(level__in=Level.values), name="course_level_valid"),
            models.CheckConstraint(condition=Q(category__in=Category.values), name="course_category_valid"),
        ]

    @property
    def syllabus_lines(self) -> list[str]:
        return [line.strip() for line in self.syllabus.splitlines() if line.strip()]
