"""Realistic data for the benchmark, loaded with ``COPY`` (never through the portal's services: too slow).

Each app has one loader, ``load_<app>(ctx)``, listed in :data:`LOADERS` in dependency order. A loader writes
its rows with :func:`bench.bulk.copy_rows`, returns ``{label: row count}`` and may leave ids in ``ctx.shared``
for the loaders after it (``load_accounts`` leaves ``user_ids``, ``organisation_ids``, ``operator_id``, ...).
Rows must satisfy the models' constraints: the database checks them during ``COPY``.

The data is generated from a fixed seed, so two runs load the same rows.
"""

import hashlib
import random
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.db import transaction
from psycopg import sql
from psycopg.types.json import Jsonb

from accounts.uscc import random_uscc
from bench.bulk import copy_rows, reset_sequences, vacuum_analyze
from bench.data_alliance import load_alliance
from bench.data_projects import load_projects
from bench.data_queue import load_job_queue
from bench.data_talent import load_talent
from bench.data_templates import load_job_templates
from bench.load_compute import load_compute

# Every loaded user, personas included, signs in with this password.
PASSWORD = "bench-password-not-secret-2025"
SEED = 20250601


@dataclass(frozen=True)
class Persona:
    """A user the benchmark signs in as; endpoints name one in their ``persona`` key."""

    key: str
    email: str
    description: str
    # Base32 TOTP secret of an authenticator the loader gives the persona; bench.session answers allauth's
    # second sign-in step with the current code. Staff need MFA for the pages under .../operator/.
    totp_secret: str = ""


PERSONAS = {
    "operator": Persona(
        "operator",
        "operator@bench.example.cn",
        "center operator (group operator, TOTP enabled): sees all organisations and the operator pages",
        totp_secret="BENCHOPERATORTOTPSECRETNOTSECRET",
    ),
    "member": Persona(
        "member", "member@bench.example.cn", "a member of 3 organisations (owner, admin and plain member)"
    ),
}


@dataclass
class LoadContext:
    scale: float
    password_hash: str
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))
    now: datetime = field(default_factory=lambda: datetime.now().astimezone())
    shared: dict = field(default_factory=dict)

    def scaled(self, count: int) -> int:
        return max(10, int(count * self.scale))


# --- people and organisations ---------------------------------------------------------------------

CITIES = [  # (name, English name, administrative division code, weight): mostly the center's own city
    ("深圳", "Shenzhen", "440300", 60),
    ("广州", "Guangzhou", "440100", 8),
    ("东莞", "Dongguan", "441900", 6),
    ("佛山", "Foshan", "440600", 5),
    ("北京", "Beijing", "110108", 5),
    ("上海", "Shanghai", "310115", 5),
    ("杭州", "Hangzhou", "330106", 4),
    ("武汉", "Wuhan", "420111", 3),
    ("成都", "Chengdu", "510107", 2),
    ("西安", "Xi'an", "610113", 2),
]


def _pairs(text: str) -> list[tuple[str, str]]:
    """``"王wang 李li"`` -> ``[("王", "wang"), ("李", "li")]``: Chinese characters with their pinyin."""
    return re.findall(r"([^\x00-\x7f]+)([A-Za-z]+)", text)


BRAND_SYLLABLES = _pairs(
    "智Zhi 云Yun 星Xing 海Hai 华Hua 天Tian 锐Rui 创Chuang 新Xin 远Yuan 腾Teng 博Bo 恒Heng 达Da 鸿Hong "
    "信Xin 瑞Rui 安An 泰Tai 众Zhong 联Lian 芯Xin 视Shi 灵Ling 深Shen 算Suan 图Tu 语Yu 元Yuan 未Wei "
    "光Guang 擎Qing 曜Yao 极Ji 链Lian 数Shu 微Wei 量Liang 启Qi 航Hang"
)
SECTOR_TRADES = {  # sector: (Chinese trade word, English)
    "information_technology": [
        ("信息技术", "Information Technology"),
        ("软件", "Software"),
        ("智能科技", "AI"),
    ],
    "manufacturing": [("智能制造", "Intelligent Manufacturing"), ("精密机械", "Precision Machinery")],
    "healthcare": [("医疗科技", "Medical Technology"), ("生物医药", "Biopharma")],
    "transport": [("智慧物流", "Smart Logistics"), ("自动驾驶", "Autonomous Driving")],
    "finance": [("金融科技", "Fintech")],
    "education": [("教育科技", "EdTech")],
    "energy": [("新能源", "New Energy")],
    "public_services": [("城市服务", "Urban Services")],
    "agriculture": [("农业科技", "Agritech")],
    "research": [("数据科学", "Data Science")],
    "other": [("文化传媒", "Media")],
}
ENTERPRISE_SECTORS = (list(SECTOR_TRADES), [30, 15, 10, 8, 8, 5, 6, 4, 3, 3, 8])
UNIVERSITY_FIELDS = [
    ("理工", "Science and Technology"), ("信息工程", "Information Engineering"), ("医科", "Medical"),
    ("师范", "Normal"), ("科技", "Technology"), ("交通", "Jiaotong"), ("财经", "Finance and Economics"),
    ("职业技术", "Polytechnic"),
]  # fmt: skip
INSTITUTE_FIELDS = [
    ("人工智能", "Artificial Intelligence"), ("先进计算", "Advanced Computing"), ("大数据", "Big Data"),
    ("智能机器人", "Intelligent Robotics"), ("生物信息", "Bioinformatics"), ("智慧城市", "Smart City"),
    ("量子信息", "Quantum Information"), ("新材料", "New Materials"),
]  # fmt: skip
GOVERNMENT_BODIES = [
    ("工业和信息化局", "Bureau of Industry and Information Technology"),
    ("科技创新局", "Science, Technology and Innovation Bureau"),
    ("交通运输局", "Transport Bureau"),
    ("卫生健康委员会", "Health Commission"),
    ("政务服务数据管理局", "Government Services and Data Administration"),
    ("教育局", "Education Bureau"),
    ("生态环境局", "Ecology and Environment Bureau"),
]
OTHER_BODIES = [
    ("人工智能产业协会", "AI Industry Association"),
    ("数字经济促进会", "Digital Economy Council"),
    ("开源技术基金会", "Open Source Foundation"),
    ("算力产业联盟", "Computing Industry Alliance"),
]
KIND_SECTORS = {"university": "education", "research_institute": "research", "government": "public_services"}
KINDS = (["enterprise", "university", "research_institute", "government", "other"], [78, 6, 8, 4, 4])
STATUSES = (["verified", "pending", "unverified", "rejected"], [58, 14, 22, 6])
REJECTION_REASONS = [
    "营业执照扫描件不清晰，请重新上传。",
    "The Unified Social Credit Code does not match the business licence.",
    "单位名称与统一社会信用代码登记信息不一致。",
    "Please give the legal representative's authorisation letter.",
]
DESCRIPTIONS = [
    "专注于人工智能大模型训练与推理优化，为制造、医疗和城市治理提供行业解决方案。",
    "We build computer-vision systems for quality inspection on production lines.",
    "面向高校和科研院所提供科学计算、数据分析与算法研发服务。",
    "A start-up training speech and language models for customer service in Cantonese and Mandarin.",
    "从事智能网联汽车感知算法研发，拥有多项发明专利。",
    "",
    "",
]
SURNAMES = _pairs(
    "王wang 李li 张zhang 刘liu 陈chen 杨yang 黄huang 赵zhao 吴wu 周zhou 徐xu 孙sun 马ma 朱zhu 胡hu 郭guo "
    "何he 林lin 罗luo 高gao"
)
GIVEN_NAMES = _pairs(
    "伟wei 芳fang 娜na 敏min 静jing 丽li 强qiang 磊lei 军jun 洋yang 勇yong 艳yan 杰jie 涛tao 明ming "
    "超chao 秀英xiuying 华hua 慧hui 宇yu 婷ting 浩hao 欣xin 晨chen 思远siyuan 子涵zihan 雨桐yutong "
    "博文bowen 嘉怡jiayi 睿rui"
)
MAIL_DOMAINS = ["example.cn", "mail.example.cn", "example.com", "example.org", "example.net"]
USCC_PREFIX = {
    "enterprise": "91",
    "university": "12",
    "research_institute": "12",
    "government": "11",
    "other": "51",
}


def _uscc_factory(rng: random.Random):
    seen: set[str] = set()

    def make(kind: str, division: str) -> str:
        while True:
            code = random_uscc(rng, prefix=USCC_PREFIX[kind], division=division)
            if code not in seen:
                seen.add(code)
                return code

    return make


def _organisation_names(rng: random.Random, kind: str, sector: str, city: tuple) -> tuple[str, str]:
    city_zh, city_en = city[0], city[1]
    if kind == "enterprise":
        (a_zh, a_en), (b_zh, b_en) = rng.sample(BRAND_SYLLABLES, 2)
        trade_zh, trade_en = rng.choice(SECTOR_TRADES[sector])
        suffix_zh, suffix_en = rng.choice([("有限公司", "Co., Ltd."), ("股份有限公司", "Holdings Co., Ltd.")])
        return (
            f"{city_zh}{a_zh}{b_zh}{trade_zh}{suffix_zh}",
            f"{city_en} {a_en}{b_en.lower()} {trade_en} {suffix_en}",
        )
    if kind == "university":
        field_zh, field_en = rng.choice(UNIVERSITY_FIELDS)
        school_zh, school_en = rng.choice([("大学", "University"), ("学院", "College")])
        return f"{city_zh}{field_zh}{school_zh}", f"{city_en} {field_en} {school_en}"
    if kind == "research_institute":
        field_zh, field_en = rng.choice(INSTITUTE_FIELDS)
        (a_zh, a_en), (b_zh, b_en) = rng.sample(BRAND_SYLLABLES, 2)
        return (
            f"{city_zh}{a_zh}{b_zh}{field_zh}研究院",
            f"{city_en} {a_en}{b_en.lower()} Institute of {field_en}",
        )
    if kind == "government":
        body_zh, body_en = rng.choice(GOVERNMENT_BODIES)
        return f"{city_zh}市{body_zh}", f"{city_en} Municipal {body_en}"
    body_zh, body_en = rng.choice(OTHER_BODIES)
    return f"{city_zh}{body_zh}", f"{city_en} {body_en}"


def _spread(ctx: LoadContext, index: int, total: int, *, days: int) -> datetime:
    """A moment in the last ``days`` days, later for later rows (ids grow with time, as in real life)."""
    return ctx.now - timedelta(days=days * (1 - index / total), minutes=ctx.rng.randint(0, 600))


def _user_rows(ctx: LoadContext, first_id: int, count: int):
    rng, rows = ctx.rng, []
    for n in range(count):
        surname_zh, surname = rng.choice(SURNAMES)
        given_zh, given = rng.choice(GIVEN_NAMES)
        joined = _spread(ctx, n, count, days=3 * 365)
        rows.append(
            {
                "id": first_id + n,
                "password": ctx.password_hash,
                "last_login": joined + timedelta(days=rng.randint(0, 30)) if rng.random() < 0.7 else None,
                "is_superuser": False,
                "email": f"{given}.{surname}.{first_id + n}@{rng.choice(MAIL_DOMAINS)}",
                "name": f"{surname_zh}{given_zh}" if rng.random() < 0.9 else "",
                "is_active": rng.random() < 0.99,
                "is_staff": False,
                "date_joined": joined,
            }
        )
    return rows


def load_accounts(ctx: LoadContext) -> dict[str, int]:
    """Users, organisations, memberships, verified email addresses and the benchmark's personas."""
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.contrib.auth.models import Group

    from accounts.models import Membership, Organisation, User  # noqa: PLC0415 - bench modules load before django.setup()

    rng = ctx.rng
    n_users, n_orgs = ctx.scaled(50_000), ctx.scaled(10_000)

    # Personas first (ids 1 and 2), then everybody else.
    operator_id, member_id = 1, 2
    users = [
        {
            "id": operator_id,
            "password": ctx.password_hash,
            "email": PERSONAS["operator"].email,
            "name": "运维 Operator",
            "is_superuser": False,
            "is_staff": True,  # what accounts.services.set_site_roles gives operators
            "is_active": True,
            "last_login": None,
            "date_joined": ctx.now - timedelta(days=4 * 365),
        },
        {
            "id": member_id,
            "password": ctx.password_hash,
            "email": PERSONAS["member"].email,
            "name": "成员 Member",
            "is_superuser": False,
            "is_staff": False,
            "is_active": True,
            "last_login": None,
            "date_joined": ctx.now - timedelta(days=2 * 365),
        },
    ]
    users += _user_rows(ctx, first_id=3, count=n_users)
    user_ids = [u["id"] for u in users[2:]]
    counts = {"users": copy_rows(User, users)}
    copy_rows(
        User.groups.through, [{"user_id": operator_id, "group_id": Group.objects.get(name="operator").pk}]
    )

    # The operator has switched two-factor authentication on (StaffMFAMiddleware demands it on staff pages).
    copy_rows(
        Authenticator,
        [
            {
                "id": 1,
                "user_id": operator_id,
                "type": "totp",
                "data": Jsonb({"secret": PERSONAS["operator"].totp_secret}),
                "created_at": ctx.now - timedelta(days=300),
                "last_used_at": None,
            }
        ],
    )

    # Every address verified (allauth's mandatory verification lets only these sign in), a few not yet.
    counts["email addresses"] = copy_rows(
        EmailAddress,
        (
            {
                "id": u["id"],
                "user_id": u["id"],
                "email": u["email"],
                "verified": u["id"] <= 2 or rng.random() < 0.96,
                "primary": True,
            }  # fmt: skip
            for u in users
        ),
    )

    # Organisations: every one gets its own owner, drawn from the shuffled users.
    owners = rng.sample(user_ids, n_orgs)
    city_weights = [c[3] for c in CITIES]
    make_uscc = _uscc_factory(rng)
    organisations, seen_names = [], {}
    for i in range(n_orgs):
        kind = rng.choices(*KINDS)[0]
        if kind == "enterprise":
            sector = rng.choices(*ENTERPRISE_SECTORS)[0]
        else:
            sector = KIND_SECTORS.get(kind) or rng.choice(list(SECTOR_TRADES))
        city = rng.choices(CITIES, weights=city_weights)[0]
        name_zh, name_en = _organisation_names(rng, kind, sector, city)
        seen_names[name_zh] = seen_names.get(name_zh, 0) + 1
        if seen_names[name_zh] > 1:  # several campuses, branches or namesakes
            name_zh, name_en = f"{name_zh}（{seen_names[name_zh]}）", f"{name_en} ({seen_names[name_zh]})"
        status = rng.choices(*STATUSES)[0]
        decided = status in ("verified", "rejected")
        created = _spread(ctx, i, n_orgs, days=3 * 365)
        organisations.append(
            {
                "id": i + 1,
                "name_zh": name_zh,
                "name_en": name_en if rng.random() < 0.85 else "",
                "kind": kind,
                "sector": sector,
                "city": city[0],
                "website": f"https://www.org{i + 1}.example.cn" if rng.random() < 0.6 else "",
                "description": rng.choice(DESCRIPTIONS),
                "logo": "",
                "uscc": make_uscc(kind, city[2]) if kind == "enterprise" or rng.random() < 0.8 else "",
                "verification_status": status,
                "verification_decided_by_id": operator_id if decided else None,
                "verification_decided_at": created + timedelta(days=rng.randint(1, 20)) if decided else None,
                "verification_reason": rng.choice(REJECTION_REASONS) if status == "rejected" else "",
                "created_by_id": owners[i],
                "created_at": created,
                "updated_at": created + timedelta(days=rng.randint(0, 60)),
            }
        )
    counts["organisations"] = copy_rows(Organisation, organisations)
    org_ids = [o["id"] for o in organisations]

    # Memberships: an owner each, admins in a third of them, most people in one organisation (a few very big
    # ones: universities and large companies), some people in several.
    memberships: dict[tuple[int, int], str] = {}
    for org_id, owner in zip(org_ids, owners, strict=True):
        memberships[(owner, org_id)] = "owner"
    for org_id in rng.sample(org_ids, n_orgs // 3):
        for admin in rng.sample(user_ids, rng.randint(1, 2)):
            memberships.setdefault((admin, org_id), "admin")
    size_weights = [
        (4.0 if o["kind"] in ("university", "research_institute") else 1.0) / (rank + 1) ** 0.6
        for rank, o in enumerate(rng.sample(organisations, len(organisations)))
    ]
    shuffled_orgs = rng.sample(org_ids, len(org_ids))
    owner_set = set(owners)
    joiners = [u for u in user_ids if u not in owner_set and rng.random() < 0.9]
    for user_id, org_id in zip(
        joiners, rng.choices(shuffled_orgs, weights=size_weights, k=len(joiners)), strict=True
    ):
        memberships.setdefault((user_id, org_id), "admin" if rng.random() < 0.05 else "member")
    for user_id in rng.sample(user_ids, len(user_ids) * 8 // 100):
        for org_id in rng.sample(org_ids, rng.randint(1, 3)):
            memberships.setdefault((user_id, org_id), "member")

    # The member persona: owner of a verified enterprise, admin of a university, member of a pending one.
    def first(predicate) -> int:
        return next(o["id"] for o in organisations if predicate(o))

    member_orgs = {
        first(lambda o: o["kind"] == "enterprise" and o["verification_status"] == "verified"): "owner",
        first(lambda o: o["kind"] == "university"): "admin",
        first(lambda o: o["verification_status"] == "pending" and o["kind"] != "university"): "member",
    }
    for org_id, role in member_orgs.items():
        memberships[(member_id, org_id)] = role

    counts["memberships"] = copy_rows(
        Membership,
        (
            {
                "id": n,
                "user_id": user_id,
                "organisation_id": org_id,
                "role": role,
                "created_at": ctx.now - timedelta(days=rng.randint(0, 1000)),
            }  # fmt: skip
            for n, ((user_id, org_id), role) in enumerate(memberships.items(), start=1)
        ),
    )
    reset_sequences(User, EmailAddress, Organisation, Membership, Authenticator)
    ctx.shared.update(
        operator_id=operator_id,
        member_id=member_id,
        user_ids=user_ids,
        organisation_ids=org_ids,
        member_organisation_ids=list(member_orgs),
    )
    return counts


# Loaders in dependency order: add an app's loader here (it may read what earlier loaders left in ctx.shared).
LOADERS = [
    load_accounts,
    load_compute,
    load_job_templates,
    load_job_queue,
    load_alliance,
    load_projects,
    load_talent,
]


def load_all(*, scale: float = 1.0) -> dict:
    """Run every loader in one transaction, then VACUUM ANALYZE; returns row counts and seconds per step."""
    from django.contrib.auth.hashers import make_password

    started = time.perf_counter()
    # Hashing costs ~0.5 s (PBKDF2), so every user gets the same hash.
    ctx = LoadContext(scale=scale, password_hash=make_password(PASSWORD))
    summary: dict = {"rows": {}, "seconds": {}}
    with transaction.atomic():
        for loader in LOADERS:
            began = time.perf_counter()
            summary["rows"].update(loader(ctx))
            summary["seconds"][loader.__name__] = round(time.perf_counter() - began, 2)
    began = time.perf_counter()
    vacuum_analyze()
    summary["seconds"]["vacuum_analyze"] = round(time.perf_counter() - began, 2)
    summary["seconds"]["total"] = round(time.perf_counter() - started, 2)
    _database_comment(fingerprint(scale))
    return summary


def fingerprint(scale: float) -> str:
    """What a load depends on: the loaders' source and the scale. Changing either makes ``--reuse-db`` reload."""
    digest = hashlib.sha256(f"{scale!r} {SEED}".encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        if path.name.startswith(("data", "bulk")):
            digest.update(path.read_bytes())
    return f"bench data {digest.hexdigest()[:16]}"


def _database_comment(text: str | None = None) -> str | None:
    """Read (or, given ``text``, write) the comment of the current database, where the fingerprint lives."""
    from django.db import connection

    with connection.cursor() as cursor:
        if text is None:
            cursor.execute(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()"
            )
            return cursor.fetchone()[0]
        statement = sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(connection.settings_dict["NAME"]), sql.Literal(text)
        )
        cursor.execute(statement.as_string(connection.connection))
        return text


def has_data(scale: float) -> bool:
    """True when the database holds a complete load made by the current loaders at this scale."""
    return _database_comment() == fingerprint(scale)


def row_counts() -> dict[str, int]:
    """Estimated row counts of the loaded tables (pg_class, no COUNT(*))."""
    from django.db import connection

    from accounts.models import Membership, Organisation, User  # noqa: PLC0415 - bench modules load before django.setup()
    from compute.models import Allocation, DailyUsage, Job, QuotaRequest  # noqa: PLC0415 - bench modules load before django.setup()

    tables = {
        "users": User,
        "organisations": Organisation,
        "memberships": Membership,
        "quota requests": QuotaRequest,
        "allocations": Allocation,
        "jobs": Job,
        "daily usage": DailyUsage,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reltuples::bigint FROM pg_class WHERE relname = ANY(%s)",
            [[m._meta.db_table for m in tables.values()]],
        )
        by_table = dict(cursor.fetchall())
    return {label: by_table.get(model._meta.db_table, 0) for label, model in tables.items()}
