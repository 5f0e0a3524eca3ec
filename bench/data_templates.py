"""The algorithm catalogue for the benchmark: 60 job templates (48 published, 8 drafts, 4 retired) over the
loaded partitions, each with 3 to 5 parameters, loaded with ``COPY`` (bench/bulk.py). A center's catalogue
is tens of templates, not thousands: the catalogue page shows them all, so its cost is per template."""

from __future__ import annotations

from bench.bulk import copy_rows, reset_sequences

KINDS = ["pytorch", "mindspore", "tensorflow", "inference", "cpu_batch", "other"]
N_TEMPLATES = 60


def _parameters(n: int) -> list[dict]:
    specs = [
        {
            "name": "epochs",
            "type": "int",
            "label_en": "Epochs",
            "label_zh": "训练轮数",
            "default": 10,
            "min": 1,
            "max": 1000,
            "help_en": "Passes over the data.",
            "help_zh": "遍历数据的次数。",
        },
        {
            "name": "model",
            "type": "choice",
            "label_en": "Model",
            "label_zh": "模型",
            "default": "resnet50",
            "choices": ["resnet50", "vit-b16", "bert-base", "qwen2-7b"],
        },
        {
            "name": "lr",
            "type": "float",
            "label_en": "Learning rate",
            "label_zh": "学习率",
            "default": 0.001,
            "min": 0.000001,
            "max": 1,
        },
        {
            "name": "amp",
            "type": "bool",
            "label_en": "Mixed precision",
            "label_zh": "混合精度",
            "default": True,
        },
        {
            "name": "data",
            "type": "text",
            "label_en": "Data directory",
            "label_zh": "数据目录",
            "default": "~/data",
            "max_length": 300,
        },
    ]
    return specs[: 3 + n % 3]


def template_rows() -> list[dict]:
    from psycopg.types.json import Jsonb

    rows = []
    for n in range(1, N_TEMPLATES + 1):
        parameters = _parameters(n)
        words = " ".join(f"{p['name']}=${{{p['name']}}}" for p in parameters)
        status = "draft" if n % 8 == 0 else "retired" if n % 15 == 0 else "published"
        kind = KINDS[n % len(KINDS)]
        rows.append(
            {
                "id": n,
                "slug": f"bench-template-{n:03d}",
                "name_en": f"Benchmark template {n}",
                "name_zh": f"基准模板 {n}",
                "summary_en": f"A {kind} starting point number {n}, with its parameters and default resources.",
                "summary_zh": f"第 {n} 个 {kind} 起点，含参数与默认资源。",
                "description_en": "Runs the training script of your home directory. " * 8,
                "description_zh": "运行主目录中的训练脚本。" * 8,
                "kind": kind,
                "script": "#!/bin/bash\nset -euo pipefail\n" + f'echo "{words}"\n' + "echo step\n" * 40,
                "parameters": Jsonb(parameters),
                "nodes": 1 + n % 2,
                "cards_per_node": 0 if kind == "cpu_batch" else 8,
                "cpus_per_node": 32,
                "memory_gb": 128,
                "time_limit_minutes": 60 * (1 + n % 24),
                "status": status,
            }
        )
    return rows


def load_job_templates(ctx) -> dict[str, int]:
    """Templates and the partitions each fits (the CPU ones the CPU partitions, the others the rest)."""
    from compute.models import JobTemplate, Partition  # bench modules are imported before django.setup()

    rows = template_rows()
    count = copy_rows(JobTemplate, rows)
    partitions = list(Partition.objects.values_list("id", "unit"))
    links = []
    for row in rows:
        wanted = "core_hour" if row["kind"] == "cpu_batch" else "card_hour"
        links.extend(
            {"jobtemplate_id": row["id"], "partition_id": pk} for pk, unit in partitions if unit == wanted
        )
    linked = copy_rows(JobTemplate.partitions.through, links)
    reset_sequences(JobTemplate, JobTemplate.partitions.through)
    return {"job templates": count, "job template partitions": linked}
