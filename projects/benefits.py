"""What acceptance into a programme brings, and the news of it to the other platforms.

When an application is accepted, ``projects.services.screening`` calls ``on_project_accepted(project, by=...)``:
it records the programme's benefits on the project (``ProjectBenefit`` rows) and then sends
``core.signals.project_accepted``. This platform issues no vouchers itself: the compute platform connects its
receiver in ``compute/hooks.py`` and issues the programme's voucher::

    signals.project_accepted.connect(vouchers.grant_incubation_voucher, dispatch_uid=...)

    def grant_incubation_voucher(sender, project, voucher_amount, by=None, **kwargs): ...

Receivers run inside the acceptance's database transaction: what they write commits with the
acceptance, and an exception they raise undoes it. ``voucher_amount`` is a ``Decimal`` in CNY (``None``
when the programme grants no voucher).
"""

from decimal import Decimal

from core.signals import project_accepted
from projects.models import BenefitKind, Project, ProjectBenefit


def on_project_accepted(project: Project, *, by=None) -> list[ProjectBenefit]:
    programme = project.programme
    benefits = []
    if programme.voucher_amount and programme.voucher_amount > 0:
        benefits.append(
            ProjectBenefit(project=project, kind=BenefitKind.COMPUTE_VOUCHER, amount=programme.voucher_amount)
        )
    if programme.offers_mentoring:
        benefits.append(ProjectBenefit(project=project, kind=BenefitKind.MENTORING))
    if programme.offers_demo_day:
        benefits.append(ProjectBenefit(project=project, kind=BenefitKind.DEMO_DAY))
    created = ProjectBenefit.objects.bulk_create(benefits)
    voucher: Decimal | None = next((b.amount for b in created if b.kind == BenefitKind.COMPUTE_VOUCHER), None)
    project_accepted.send(sender=Project, project=project, voucher_amount=voucher, by=by)
    return created
