"""Data of the talent platform (loaded with ``COPY``, see data.py).

What it looks like at scale 1:

- 4 programmes, 80 published courses (and a few drafts) in every category and level.
- 400 cohorts over two years: about a third finished (with outcomes and certificates), the rest running or
  upcoming; open, students-only, member-employees and allowlist audiences; open, approval and code access.
  Each has 3 to 8 sessions.
- ~40,000 enrolments of the accounts loader's users: upcoming cohorts are often full with a waitlist (and a
  few open seat offers), finished ones hold completed, failed, no-show and withdrawn people.
- Attendance marks for every session of finished cohorts; a certificate for every completion (2 % revoked).
- The member persona is enrolled in several cohorts, waits on one, and holds certificates.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from bench.bulk import copy_rows, reset_sequences

AUDIENCES = [("open", 70), ("students", 12), ("member_employees", 12), ("allowlist", 6)]
ACCESS = [("open", 70), ("approval", 20), ("code", 10)]
TOPICS = [
    ("大模型微调", "Fine-tuning large models"),
    ("检索增强生成", "Retrieval-augmented generation"),
    ("深度学习基础", "Deep learning foundations"),
    ("工业视觉", "Industrial vision"),
    ("昇腾开发", "Developing on Ascend"),
    ("智能体应用", "Agent applications"),
    ("数据标注与治理", "Data labelling and governance"),
    ("模型部署", "Model deployment"),
]


def _weighted(rng, choices):
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def load_talent(ctx) -> dict[str, int]:
    """Programmes, courses, cohorts with sessions, enrolments, attendance and certificates."""
    from talent.models import (  # bench modules are imported before django.setup()
        Attendance,
        Category,
        Certificate,
        Cohort,
        Course,
        Enrolment,
        Level,
        Programme,
        Session,
        new_certificate_code,
    )

    rng, now = ctx.rng, ctx.now
    today = now.date()
    user_ids = list(ctx.shared["user_ids"])
    member_id = ctx.shared["member_id"]
    counts = {}

    programmes = [
        {
            "id": i + 1,
            "slug": f"bench-programme-{i + 1}",
            "title_zh": f"{zh}人才计划",
            "title_en": f"{en} programme",
            "description_zh": "面向联盟成员与高校学生的系统培训。",
            "description_en": "Training for alliance members and students.",
            "is_published": True,
        }
        for i, (zh, en) in enumerate(TOPICS[:4])
    ]
    counts["talent programmes"] = copy_rows(Programme, programmes)

    courses = []
    for i in range(ctx.scaled(84)):
        zh, en = TOPICS[i % len(TOPICS)]
        courses.append(
            {
                "id": i + 1,
                "programme_id": rng.choice([None, 1, 2, 3, 4]),
                "slug": f"bench-course-{i + 1}",
                "title_zh": f"{zh}（{i + 1}）",
                "title_en": f"{en} ({i + 1})",
                "description_zh": "课程介绍：理论讲解与上机实验相结合。" * 3,
                "description_en": "Lectures and hands-on labs on the computing center. " * 3,
                "level": rng.choice(Level.values),
                "category": rng.choice(Category.values),
                "prerequisites": "Python",
                "syllabus": "Introduction\nLab 1\nLab 2\nProject",
                "cover_image": "",
                "is_published": i % 20 != 19,
                "created_at": now - timedelta(days=800 - i),
            }
        )
    counts["talent courses"] = copy_rows(Course, courses)

    cohorts, sessions = [], []
    session_id = 0
    for n in range(1, ctx.scaled(400) + 1):
        course = courses[rng.randrange(len(courses))]
        starts = today + timedelta(days=rng.randint(-700, 120))
        length = rng.randint(1, 10)
        ends = starts + timedelta(days=length)
        finished = ends < today
        opens = datetime.combine(starts - timedelta(days=40), time(9), tzinfo=now.tzinfo)
        audience = _weighted(rng, AUDIENCES)
        access = _weighted(rng, ACCESS)
        cohorts.append(
            {
                "id": n,
                "course_id": course["id"],
                "name": f"第{n}期 Cohort {n}",
                "starts_on": starts,
                "ends_on": ends,
                "capacity": rng.choice([20, 30, 40, 60, 100]),
                "enrolment_opens_at": opens,
                "enrolment_closes_at": datetime.combine(starts, time(0), tzinfo=now.tzinfo),
                "audience": audience,
                "allowlist": "invited@example.cn" if audience == "allowlist" else "",
                "access": access,
                "enrolment_code": "BENCH" if access == "code" else "",
                "min_attendance_percent": 75,
                "min_score": Decimal("60") if rng.random() < 0.6 else None,
                "status": "finished"
                if finished
                else rng.choices(["published", "draft", "cancelled"], [90, 6, 4])[0],
                "created_at": opens,
            }
        )
        for s in range(rng.randint(3, 8)):
            session_id += 1
            day = starts + timedelta(days=min(s, length))
            begins = datetime.combine(day, time(9 + 4 * (s % 2)), tzinfo=now.tzinfo)
            sessions.append(
                {
                    "id": session_id,
                    "cohort_id": n,
                    "title": f"Session {s + 1}",
                    "starts_at": begins,
                    "ends_at": begins + timedelta(hours=3),
                    "place": "培训室 Training room",
                    "online_url": "",
                    "checkin_code": "BENCH1",
                }
            )
    counts["talent cohorts"] = copy_rows(Cohort, cohorts)
    counts["talent sessions"] = copy_rows(Session, sessions)
    sessions_by_cohort: dict[int, list[int]] = {}
    for session in sessions:
        sessions_by_cohort.setdefault(session["cohort_id"], []).append(session["id"])

    enrolments, marks, certificates = [], [], []
    enrolment_id = 0
    persona_cohorts = set(
        rng.sample([c["id"] for c in cohorts if c["status"] in ("published", "finished")], 8)
    )
    for cohort in cohorts:
        if cohort["status"] == "draft":
            continue
        finished = cohort["status"] == "finished"
        capacity = cohort["capacity"]
        wanted = rng.randint(capacity // 2, capacity + capacity // 2)
        people = rng.sample(user_ids, min(wanted, len(user_ids)))
        if cohort["id"] in persona_cohorts and member_id not in people:
            people.insert(0, member_id)
        seated = 0
        for position, user_id in enumerate(people):
            enrolment_id += 1
            joined = cohort["enrolment_opens_at"] + timedelta(minutes=position * 7)
            row = {
                "id": enrolment_id,
                "cohort_id": cohort["id"],
                "user_id": user_id,
                "seat_pool_id": None,
                "created_at": joined,
                "status_changed_at": joined,
                "waitlisted_at": None,
                "offer_expires_at": None,
                "enrolled_at": None,
                "decided_by_id": None,
                "reason": "",
                "score": None,
                "completed_at": None,
            }
            if cohort["status"] == "cancelled":
                row["status"], row["reason"] = "withdrawn", "cohort cancelled"
            elif seated < capacity and rng.random() < 0.95:
                seated += 1
                row["enrolled_at"] = joined
                if finished:
                    present = [s for s in sessions_by_cohort[cohort["id"]] if rng.random() < 0.85]
                    for session in sessions_by_cohort[cohort["id"]]:
                        marks.append(
                            {
                                "session_id": session,
                                "enrolment_id": enrolment_id,
                                "present": session in present,
                                "method": rng.choice(["instructor", "checkin"]),
                                "marked_by_id": None,
                                "marked_at": joined,
                            }
                        )
                    row["score"] = Decimal(rng.randint(40, 100))
                    share = len(present) / len(sessions_by_cohort[cohort["id"]])
                    if not present:
                        row["status"] = "no_show"
                    elif share * 100 < cohort["min_attendance_percent"] or (
                        cohort["min_score"] is not None and row["score"] < cohort["min_score"]
                    ):
                        row["status"] = "failed"
                    else:
                        row["status"] = "completed"
                    row["completed_at"] = datetime.combine(cohort["ends_on"], time(18), tzinfo=now.tzinfo)
                    if row["status"] == "completed":
                        revoked = rng.random() < 0.02
                        certificates.append(
                            {
                                "enrolment_id": enrolment_id,
                                "code": new_certificate_code(),
                                "holder_name": f"学员{user_id}",
                                "course_title_zh": courses[cohort["course_id"] - 1]["title_zh"],
                                "course_title_en": courses[cohort["course_id"] - 1]["title_en"],
                                "cohort_name": cohort["name"],
                                "issued_on": cohort["ends_on"],
                                "status": "revoked" if revoked else "valid",
                                "revoked_at": now if revoked else None,
                                "revoked_by_id": None,
                                "revoke_reason": "考试作弊" if revoked else "",
                            }
                        )
                else:
                    row["status"] = "enrolled"
            elif finished:
                row["status"], row["reason"] = "withdrawn", "cohort finished"
            else:
                row["status"], row["waitlisted_at"] = "waitlisted", joined
            enrolments.append(row)
        # A few open seat offers on upcoming cohorts.
        if not finished and cohort["status"] == "published":
            for row in enrolments[-len(people) :]:
                if row["status"] == "waitlisted" and rng.random() < 0.05:
                    row["status"], row["offer_expires_at"] = (
                        "offered",
                        now + timedelta(hours=rng.randint(1, 47)),
                    )
                    break
    counts["talent enrolments"] = copy_rows(Enrolment, enrolments)
    counts["talent attendance"] = copy_rows(Attendance, marks)
    counts["talent certificates"] = copy_rows(Certificate, certificates)
    reset_sequences(Programme, Course, Cohort, Session, Enrolment, Attendance, Certificate)
    ctx.shared["talent_open_cohort_ids"] = [
        c["id"] for c in cohorts if c["status"] == "published" and c["starts_on"] > timezone.localdate()
    ]
    return counts
