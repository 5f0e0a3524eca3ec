"""Data of the industry alliance (loaded with ``COPY``, see data.py): a directory of 100,000 member organisations.

What it looks like at scale 1:

- ``ctx.scaled(95_000)`` more verified organisations (ids after those of ``load_accounts``), with the same kinds,
  sectors, cities and names as the others, so that with the verified ones of ``load_accounts`` about 100,000
  organisations are alliance members;
- one membership each: ~90 % active, 3 % in their grace period, 3 % expired, 2 % suspended, 2 % withdrawn,
  member since a date spread over five years (ids grow with time), tiers 3 % council, 80 % member, 17 %
  observer; plus ~2,000 pending applications of other verified organisations;
- an alliance profile per member (description, website, contacts; contacts members-only or private as the
  defaults say, ~10 % hide their description) with 1 to 4 capabilities of a taxonomy of 30;
- the directory entries, built from those rows as ``alliance.services.directory.sync_entry`` does (public values only);
- ~20,000 solutions (80 % published) and ~5,000 needs (a quarter of them talent needs).

The member persona's verified enterprise is an active council member with a published profile, a solution and
a need.
"""

from datetime import timedelta

from psycopg.types.json import Jsonb

from accounts.uscc import ALPHABET, check_character
from alliance.capabilities import CAPABILITIES
from bench.bulk import copy_rows, reset_sequences

SCENARIOS = (
    ["smart_medical", "smart_transport", "urban_brain", "network_security", "smart_manufacturing",
     "smart_education", "smart_finance", "other"],
    [18, 14, 14, 10, 18, 8, 10, 8],
)  # fmt: skip
TIERS = (["council", "member", "observer"], [3, 80, 17])
STATUSES = (["active", "grace", "expired", "suspended", "withdrawn"], [90, 3, 3, 2, 2])
TIER_RANK = {"council": 0, "member": 1, "observer": 2}
SOLUTION_TITLES = [
    ("肺结节智能筛查", "Lung nodule screening"), ("交通信号优化", "Traffic signal optimisation"),
    ("城市事件智能分拨", "City incident dispatch"), ("工业缺陷检测", "Industrial defect detection"),
    ("智能客服大模型", "Customer-service language model"), ("电网负荷预测", "Grid load forecasting"),
    ("反欺诈风控", "Fraud detection"), ("作业智能批改", "Homework marking"),
    ("网络威胁狩猎", "Threat hunting"), ("病虫害识别", "Crop disease recognition"),
]  # fmt: skip
DIVISIONS = ["440304", "440305", "440306", "440307", "440308", "440309"]  # not used by load_accounts


def load_alliance(ctx) -> dict[str, int]:
    from accounts.models import Organisation  # bench modules are imported before django.setup()
    from alliance.models import (  # bench modules are imported before django.setup()
        AllianceMembership,
        AllianceProfile,
        CapabilityTag,
        DirectoryEntry,
        Need,
        Solution,
    )
    from bench.data import (  # bench.data imports this module: a cycle at import time
        CITIES,
        DESCRIPTIONS,
        ENTERPRISE_SECTORS,
        KIND_SECTORS,
        KINDS,
        SECTOR_TRADES,
        USCC_PREFIX,
        _organisation_names,
        _spread,
    )

    rng, now = ctx.rng, ctx.now
    today = now.date()
    counts: dict[str, int] = {}
    operator_id, member_id = ctx.shared["operator_id"], ctx.shared["member_id"]

    counts["capabilities"] = copy_rows(
        CapabilityTag,
        ({"id": i, "slug": s, "name_zh": zh, "name_en": en, "is_active": True}
         for i, (s, zh, en) in enumerate(CAPABILITIES, start=1)),
    )  # fmt: skip
    tag_ids = list(range(1, len(CAPABILITIES) + 1))

    # More verified organisations, after the ids of load_accounts.
    existing = Organisation.objects.values_list(
        "id", "name_zh", "name_en", "kind", "sector", "city", "verification_status", "created_at"
    )
    existing = list(existing)
    first_id = max(row[0] for row in existing) + 1

    seen_codes: set[str] = set()

    def uscc(kind: str) -> str:
        while True:
            body = USCC_PREFIX[kind] + rng.choice(DIVISIONS) + "".join(rng.choices(ALPHABET, k=9))
            code = body + check_character(body)
            if code not in seen_codes:
                seen_codes.add(code)
                return code

    n_new = ctx.scaled(95_000)
    city_weights = [c[3] for c in CITIES]
    new_orgs = []
    for i in range(n_new):
        kind = rng.choices(*KINDS)[0]
        sector = (
            rng.choices(*ENTERPRISE_SECTORS)[0]
            if kind == "enterprise"
            else KIND_SECTORS.get(kind) or rng.choice(list(SECTOR_TRADES))
        )
        city = rng.choices(CITIES, weights=city_weights)[0]
        name_zh, name_en = _organisation_names(rng, kind, sector, city)
        org_id = first_id + i
        name_zh, name_en = f"{name_zh}（{org_id}）", f"{name_en} ({org_id})"
        created = _spread(ctx, i, n_new, days=5 * 365)
        new_orgs.append(
            {
                "id": org_id,
                "name_zh": name_zh,
                "name_en": name_en if rng.random() < 0.85 else "",
                "kind": kind,
                "sector": sector,
                "city": city[0],
                "website": "",
                "description": "",
                "logo": "",
                "uscc": uscc(kind) if kind == "enterprise" else "",
                "verification_status": "verified",
                "verification_decided_by_id": operator_id,
                "verification_decided_at": created + timedelta(days=3),
                "verification_reason": "",
                "created_by_id": None,
                "created_at": created,
                "updated_at": created,
            }
        )
    counts["alliance organisations"] = copy_rows(Organisation, new_orgs)
    reset_sequences(Organisation)

    # Members: every new organisation and the verified ones of load_accounts (the persona's enterprise first).
    member_org = ctx.shared["member_organisation_ids"][0]
    old_verified = [r for r in existing if r[6] == "verified"]
    candidates = [
        {
            "id": r[0],
            "name_zh": r[1],
            "name_en": r[2],
            "kind": r[3],
            "sector": r[4],
            "city": r[5],
            "created_at": r[7],
        }
        for r in old_verified
    ] + new_orgs
    candidates.sort(key=lambda o: o["created_at"])
    grace = 30
    memberships, profiles, profile_tags, entries, entry_tags = [], [], [], [], []
    listed_ids = []
    description_choices = [d for d in DESCRIPTIONS if d]
    for n, org in enumerate(candidates, start=1):
        status = "active" if org["id"] == member_org else rng.choices(*STATUSES)[0]
        tier = "council" if org["id"] == member_org else rng.choices(*TIERS)[0]
        start = max(org["created_at"].date(), today - timedelta(days=5 * 365)) + timedelta(
            days=rng.randint(0, 30)
        )
        start = min(start, today)
        if status == "active":
            end = today + timedelta(days=rng.randint(1, 365))
        elif status == "grace":
            end = today - timedelta(days=rng.randint(1, grace - 1))
        else:
            end = today - timedelta(days=rng.randint(grace + 1, 400))
        start = min(start, end - timedelta(days=1))
        memberships.append(
            {
                "id": n,
                "organisation_id": org["id"],
                "tier": tier,
                "statement": "加入联盟，共建人工智能产业生态。",
                "status": status,
                "start_date": start,
                "end_date": end,
                "applied_by_id": None,
                "applied_at": now - timedelta(days=(today - start).days + 3),
                "decided_by_id": operator_id,
                "decided_at": now - timedelta(days=(today - start).days),
                "decision_reason": "未缴会费" if status == "suspended" else "",
                "status_changed_at": now,
                "reminder_sent_for": None,
            }
        )
        description = rng.choice(description_choices)
        hide_description = rng.random() < 0.1
        visibility = {
            "description": "private" if hide_description else "public",
            "logo": "public",
            "website": "public",
            "contact_name": "members",
            "contact_email": "members",
            "contact_phone": "private",
            "capabilities": "public",
        }
        tags = rng.sample(tag_ids, rng.randint(1, 4))
        profiles.append(
            {
                "id": n,
                "organisation_id": org["id"],
                "description": description,
                "logo": "",
                "website": f"https://www.member{org['id']}.example.cn",
                "contact_name": "联络人",
                "contact_email": f"alliance{org['id']}@example.cn",
                "contact_phone": "0755-0000 0000",
                "visibility": Jsonb(visibility),
                "updated_at": now,
            }
        )
        profile_tags += [{"allianceprofile_id": n, "capabilitytag_id": t} for t in tags]
        public_description = "" if hide_description else description
        document = " ".join(
            [org["name_zh"], org["name_en"], org["city"], public_description]
            + [part for t in tags for part in CAPABILITIES[t - 1]]
        ).lower()
        is_listed = status in ("active", "grace")
        entries.append(
            {
                "organisation_id": org["id"],
                "name_zh": org["name_zh"],
                "name_en": org["name_en"],
                "kind": org["kind"],
                "sector": org["sector"],
                "city": org["city"],
                "tier": tier,
                "tier_rank": TIER_RANK[tier],
                "member_since": start,
                "member_from": start,
                "listed_until": end + timedelta(days=grace),
                "is_listed": is_listed,
                "summary": public_description[:280],
                "logo": "",
                "search_document": document,
                "updated_at": now,
            }
        )
        entry_tags += [{"directoryentry_id": org["id"], "capabilitytag_id": t} for t in tags]
        if is_listed:
            listed_ids.append(org["id"])
    # Pending applications of verified organisations that are not members (from the end of the list: none).
    counts["alliance memberships"] = copy_rows(AllianceMembership, memberships)
    counts["alliance profiles"] = copy_rows(AllianceProfile, profiles)
    copy_rows(AllianceProfile.capabilities.through, profile_tags)
    counts["directory entries"] = copy_rows(DirectoryEntry, entries)
    counts["directory capabilities"] = copy_rows(DirectoryEntry.capabilities.through, entry_tags)

    # Solutions and needs of listed members.
    solutions, solution_tags = [], []
    for n in range(1, ctx.scaled(20_000) + 1):
        org_id = member_org if n == 1 else rng.choice(listed_ids)
        title_zh, title_en = rng.choice(SOLUTION_TITLES)
        status = "published" if n == 1 or rng.random() < 0.8 else rng.choice(["pending", "draft", "rejected"])
        solutions.append(
            {
                "id": n,
                "organisation_id": org_id,
                "title": f"{title_zh} {title_en}",
                "scenario": rng.choices(*SCENARIOS)[0],
                "description": "基于昇腾算力训练的行业模型。An industry model trained on the center's NPUs.",
                "outcome": "",
                "image": "",
                "status": status,
                "created_by_id": None,
                "submitted_at": now,
                "decided_by_id": operator_id if status in ("published", "rejected") else None,
                "decided_at": now if status in ("published", "rejected") else None,
                "decision_reason": "请补充应用成效。" if status == "rejected" else "",
            }
        )
        solution_tags += [
            {"solution_id": n, "capabilitytag_id": t} for t in rng.sample(tag_ids, rng.randint(1, 3))
        ]
    counts["solutions"] = copy_rows(Solution, solutions)
    copy_rows(Solution.capabilities.through, solution_tags)
    needs, need_tags = [], []
    for n in range(1, ctx.scaled(5_000) + 1):
        org_id = member_org if n == 1 else rng.choice(listed_ids)
        talent = rng.random() < 0.25
        needs.append(
            {
                "id": n,
                "organisation_id": org_id,
                "kind": "talent" if talent else "technology",
                "title": "数据标注人才" if talent else rng.choice(SOLUTION_TITLES)[0] + "需求",
                "description": "寻找合作伙伴。Looking for a partner.",
                "scenario": rng.choices(*SCENARIOS)[0],
                "skills": "数据标注, Python" if talent else "",
                "people": rng.randint(1, 30) if talent else 0,
                # The member persona's need is open at every scale (its page is measured); the draw is made all
                # the same, so the rest of the data is what it was.
                "status": "open" if rng.random() < 0.8 or n == 1 else "closed",
                "created_by_id": member_id if n == 1 else None,
            }
        )
        need_tags += [{"need_id": n, "capabilitytag_id": t} for t in rng.sample(tag_ids, rng.randint(1, 3))]
    counts["needs"] = copy_rows(Need, needs)
    copy_rows(Need.capabilities.through, need_tags)
    reset_sequences(CapabilityTag, AllianceMembership, AllianceProfile, Solution, Need)
    ctx.shared.update(alliance_member_organisation_id=member_org, alliance_listed_ids=listed_ids[:100])
    return counts
