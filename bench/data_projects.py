"""Data of the incubation platform (loaded with ``COPY``, see data.py).

What it looks like at scale 1:

- 8 programmes (two per theme) with 4 weighted criteria each, and 40 calls over three years: 6 open now, the
  rest closed; one open call ("the big call") holds a quarter of the applications, so its ranking page is
  page 1 of many.
- ~4,000 applications from verified organisations, in every status (drafts, submitted, screening, more
  information asked, in review, review closed, accepted, waitlisted, rejected, withdrawn), each submitted one
  with a revision; the member persona's organisations have applications too.
- 60 reviewers (site role reviewer) and 2 to 3 review assignments per application past screening, with
  criterion scores and weighted scores for submitted reviews.
- An incubated project (with benefits and milestones) for every accepted application.
"""

from datetime import timedelta
from decimal import Decimal

from psycopg.types.json import Jsonb

from bench.bulk import copy_rows, reset_sequences
from bench.load_compute import organisation_facts

STATUS_WEIGHTS = [
    ("draft", 10),
    ("submitted", 12),
    ("screening", 6),
    ("more_info", 4),
    ("in_review", 20),
    ("review_closed", 8),
    ("accepted", 12),
    ("waitlisted", 6),
    ("rejected", 17),
    ("withdrawn", 5),
]
REVIEWED = {"in_review", "review_closed", "accepted", "waitlisted", "rejected"}
DECIDED = {"accepted", "waitlisted", "rejected"}


def load_projects(ctx) -> dict[str, int]:
    """Programmes, criteria, calls, applications with revisions, reviewers' assignments and scores, projects."""
    from django.contrib.auth.models import Group  # bench modules are imported before django.setup()

    from accounts.models import User  # bench modules are imported before django.setup()
    from projects.models import (  # bench modules are imported before django.setup()
        REVIEW_CRITERIA,
        Application,
        ApplicationRevision,
        Call,
        Criterion,
        CriterionScore,
        Milestone,
        Programme,
        Project,
        ProjectBenefit,
        ReviewAssignment,
        Theme,
        weighted_score,
    )

    themes = [theme.value for theme in Theme if theme != Theme.OTHER]
    rng, now = ctx.rng, ctx.now
    today = now.date()
    organisations, members_by_org, _emails = organisation_facts()
    persona_orgs = [o for o in ctx.shared.get("member_organisation_ids", []) if o in dict(organisations)]
    org_ids = [o for o, _kind in organisations if members_by_org.get(o)]

    programmes, criteria = [], []
    for i in range(8):
        theme = themes[i % len(themes)]
        programmes.append(
            {
                "id": i + 1,
                "slug": f"bench-{theme}-{i}",
                "theme": theme,
                "title_zh": f"{theme} 孵化计划 {i}",
                "title_en": f"{theme.replace('_', ' ').title()} incubation {i}",
                "description_zh": "面向人工智能应用项目的孵化计划。",
                "description_en": "Incubation of AI application projects.",
                "eligible_kinds": Jsonb([]),
                "voucher_amount": Decimal(rng.choice([30000, 50000, 100000])),
                "offers_mentoring": True,
                "offers_demo_day": i % 2 == 0,
                "is_published": True,
                "created_at": now - timedelta(days=1100),
            }
        )
        for position, (name_zh, name_en, weight, _guidance) in enumerate(REVIEW_CRITERIA):
            criteria.append(
                {
                    "id": len(criteria) + 1,
                    "programme_id": i + 1,
                    "name_zh": name_zh,
                    "name_en": name_en,
                    "guidance": "",
                    "weight": weight,
                    "position": position,
                }
            )
    criteria_of = {p["id"]: [c for c in criteria if c["programme_id"] == p["id"]] for p in programmes}

    calls = []
    for i in range(40):
        is_open = i >= 34
        opens = now - timedelta(days=20) if is_open else now - timedelta(days=1100 - i * 25)
        calls.append(
            {
                "id": i + 1,
                "programme_id": i % 8 + 1,
                "title_zh": f"第 {i + 1} 批项目征集",
                "title_en": f"Call {i + 1}",
                "opens_at": opens,
                "closes_at": opens + timedelta(days=45 if is_open else 40),
                "review_deadline": (opens + timedelta(days=60)).date(),
                "max_card_hours": 50000,
                "created_at": opens - timedelta(days=5),
            }
        )
    big_call = calls[-1]["id"]
    open_calls = [c["id"] for c in calls[34:]]

    # Reviewers: 60 people without organisations' conflicts checked here (the scores are made up).
    reviewer_ids = rng.sample(ctx.shared["user_ids"][100:], 60)
    group = Group.objects.get(name="reviewer")
    copy_rows(User.groups.through, ({"user_id": u, "group_id": group.pk} for u in reviewer_ids))

    n_apps = ctx.scaled(4_000)
    statuses = [s for s, _w in STATUS_WEIGHTS]
    weights = [w for _s, w in STATUS_WEIGHTS]
    applications, revisions, assignments, scores, projects, benefits, milestones = [], [], [], [], [], [], []
    for n in range(1, n_apps + 1):
        if n % 4 == 0:
            call_id = big_call
        else:
            call_id = rng.choice(open_calls) if rng.random() < 0.4 else rng.randint(1, 34)
        call = calls[call_id - 1]
        status = rng.choices(statuses, weights)[0]
        if call_id in open_calls and status in DECIDED:
            status = "in_review"
        org = persona_orgs[n % len(persona_orgs)] if persona_orgs and n % 50 == 0 else rng.choice(org_ids)
        creator = members_by_org[org][0][0]
        created = call["opens_at"] + timedelta(days=rng.randint(0, 30), minutes=rng.randint(0, 1000))
        submitted = None if status == "draft" else created + timedelta(days=rng.randint(0, 5))
        title = f"AI 应用项目 {n}"
        row = {
            "id": n,
            "call_id": call_id,
            "organisation_id": org,
            "title": title,
            "summary": "以人工智能模型解决行业痛点。",
            "scenario": "医院、交通枢纽与城市管理部门。",
            "team": "算法工程师与行业专家。",
            "technical_approach": "深度学习与知识图谱。",
            "data": "合作方脱敏数据。",
            "expected_outcomes": "完成试点部署。",
            "compute_card_hours": rng.choice([500, 1000, 2000, 5000, 10000]),
            "status": status,
            "created_by_id": creator,
            "created_at": created,
            "updated_at": submitted or created,
            "submitted_at": submitted,
            "information_request": "请补充数据来源说明。" if status == "more_info" else "",
            "determination_message": "评审结论已发送。" if status in DECIDED else "",
            "decided_by_id": ctx.shared["operator_id"] if status in DECIDED else None,
            "decided_at": submitted + timedelta(days=40) if status in DECIDED else None,
        }
        applications.append(row)
        if submitted:
            revisions.append(
                {
                    "application_id": n,
                    "number": 1,
                    "content": Jsonb({"title": title, "summary": row["summary"], "attachments": []}),
                    "created_by_id": creator,
                    "created_at": submitted,
                }
            )
        if status in REVIEWED:
            for reviewer in rng.sample(reviewer_ids, rng.randint(2, 3)):
                done = status != "in_review" or rng.random() < 0.5
                assignment_id = len(assignments) + 1
                values = [
                    rng.choice([None, 1, 2, 3, 3, 4, 4, 5, 5]) for _ in criteria_of[call["programme_id"]]
                ]
                weighted = weighted_score(
                    [(c["weight"], v) for c, v in zip(criteria_of[call["programme_id"]], values, strict=True)]
                )
                assignments.append(
                    {
                        "id": assignment_id,
                        "application_id": n,
                        "reviewer_id": reviewer,
                        "assigned_by_id": ctx.shared["operator_id"],
                        "assigned_at": submitted + timedelta(days=7),
                        "status": "submitted" if done else "assigned",
                        "conflict_of_interest": "",
                        "recommendation": rng.choice(["yes", "maybe", "no"]) if done else "",
                        "comments": "评审意见。" if done else "",
                        "weighted_score": weighted if done else None,
                        "saved_at": submitted + timedelta(days=10) if done else None,
                        "submitted_at": submitted + timedelta(days=10) if done else None,
                        "reminded_at": None,
                    }
                )
                if done:
                    scores.extend(
                        {"assignment_id": assignment_id, "criterion_id": c["id"], "score": v}
                        for c, v in zip(criteria_of[call["programme_id"]], values, strict=True)
                    )
        if status == "accepted":
            project_id = len(projects) + 1
            state = rng.choice(["onboarding", "active", "active", "at_risk", "graduated", "terminated"])
            projects.append(
                {
                    "id": project_id,
                    "application_id": n,
                    "organisation_id": org,
                    "programme_id": call["programme_id"],
                    "title": title,
                    "status": state,
                    "status_reason": "进度滞后。" if state in ("at_risk", "terminated") else "",
                    "publish_consent": state == "graduated" and rng.random() < 0.7,
                    "showcase_summary": "已完成孵化并上线。" if state == "graduated" else "",
                    "started_at": row["decided_at"],
                    "ended_at": row["decided_at"] + timedelta(days=300)
                    if state in ("graduated", "terminated")
                    else None,
                }
            )
            benefits.append(
                {
                    "project_id": project_id,
                    "kind": "compute_voucher",
                    "amount": programmes[call["programme_id"] - 1]["voucher_amount"],
                    "granted_at": row["decided_at"],
                }
            )
            benefits.append(
                {
                    "project_id": project_id,
                    "kind": "mentoring",
                    "amount": None,
                    "granted_at": row["decided_at"],
                }
            )
            for m in range(3):
                milestones.append(
                    {
                        "project_id": project_id,
                        "title": f"里程碑 {m + 1}",
                        "due_date": today + timedelta(days=30 * (m - 1)),
                        "deliverable": "阶段报告",
                        "status": ["accepted", "submitted", "planned"][m],
                        "evidence": "",
                        "evidence_name": "",
                        "evidence_note": "",
                        "feedback": "",
                        "submitted_at": None,
                        "reviewed_by_id": None,
                        "reviewed_at": None,
                    }
                )

    counts = {
        "programmes": copy_rows(Programme, programmes),
        "criteria": copy_rows(Criterion, criteria),
        "calls": copy_rows(Call, calls),
        "applications": copy_rows(Application, applications),
        "application revisions": copy_rows(ApplicationRevision, revisions),
        "review assignments": copy_rows(ReviewAssignment, assignments),
        "criterion scores": copy_rows(CriterionScore, scores),
        "incubated projects": copy_rows(Project, projects),
        "project benefits": copy_rows(ProjectBenefit, benefits),
        "milestones": copy_rows(Milestone, milestones),
    }
    reset_sequences(Programme, Criterion, Call, Application, ReviewAssignment, Project)
    ctx.shared.update(projects_big_call_id=big_call, projects_reviewer_ids=reviewer_ids)
    return counts
