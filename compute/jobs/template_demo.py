"""The demo's algorithm catalogue: five published job templates (called by compute/demo.py's ``seed``).

The demo cluster is pretend, so the scripts ``echo`` what they would run; each names its parameters ${name}."""

from accounts.models import User
from compute.jobs import catalogue
from compute.models import JobTemplate, Partition

PYTORCH_DDP = """#!/bin/bash
# PyTorch distributed data-parallel training, one process per accelerator card (torchrun).
set -euo pipefail
echo "Training ${model} for ${epochs} epochs, batch size ${batch_size}, mixed precision: ${amp}"
echo "torchrun --nnodes=$SLURM_NNODES --nproc_per_node=$SLURM_GPUS_ON_NODE train.py \\\\"
echo "  --model ${model} --epochs ${epochs} --batch-size ${batch_size} --amp ${amp}"
echo "Hello from PyTorch on $(hostname)"
"""

MINDSPORE = """#!/bin/bash
# MindSpore training on Ascend cards in graph mode, with msrun starting one worker per card.
set -euo pipefail
echo "MindSpore: network ${network}, dataset ${dataset_path}, ${epochs} epochs"
echo "msrun --worker_num=$SLURM_NTASKS train.py --net ${network} --data ${dataset_path} --epochs ${epochs}"
echo "Hello from MindSpore on $(hostname)"
"""

TENSORFLOW = """#!/bin/bash
# TensorFlow/Keras training with MultiWorkerMirroredStrategy.
set -euo pipefail
echo "TensorFlow: ${epochs} epochs, learning rate ${learning_rate}"
echo "python train_keras.py --epochs ${epochs} --lr ${learning_rate}"
echo "Hello from TensorFlow on $(hostname)"
"""

INFERENCE = """#!/bin/bash
# An OpenAI-compatible inference server (vLLM-style) on one card; reach it over an SSH tunnel from the login node.
set -euo pipefail
echo "Serving ${model} on port ${port}, context length ${max_model_len}"
echo "vllm serve ${model} --port ${port} --max-model-len ${max_model_len} --tensor-parallel-size 1"
echo "Server on $(hostname):${port}; stop it with scancel when done"
"""

CPU_BATCH = """#!/bin/bash
# CPU data processing: clean and shard a data set in parallel with GNU-parallel-style workers.
set -euo pipefail
echo "Processing ${input_dir} into ${shards} shards with $SLURM_CPUS_PER_TASK workers (compress: ${compress})"
echo "python prepare.py --input ${input_dir} --shards ${shards} --compress ${compress}"
echo "Hello from the CPU partition on $(hostname)"
"""


def _text(name, en, zh, default, *, help_en="", help_zh="", max_length=200):
    return {
        "name": name,
        "type": "text",
        "label_en": en,
        "label_zh": zh,
        "help_en": help_en,
        "help_zh": help_zh,
        "default": default,
        "max_length": max_length,
    }


def _int(name, en, zh, default, low, high, *, help_en="", help_zh=""):
    return {
        "name": name,
        "type": "int",
        "label_en": en,
        "label_zh": zh,
        "help_en": help_en,
        "help_zh": help_zh,
        "default": default,
        "min": low,
        "max": high,
    }


DEMO_TEMPLATES = [
    dict(
        slug="pytorch-ddp-training",
        name_en="PyTorch distributed training (DDP)",
        name_zh="PyTorch 分布式训练（DDP）",
        summary_en="Train a model on all cards of one or more nodes with torchrun.",
        summary_zh="用 torchrun 在一个或多个节点的全部加速卡上训练模型。",
        description_en="Starts one process per accelerator card with torchrun and trains with "
        "DistributedDataParallel. Put your train.py in your home directory.",
        description_zh="torchrun 为每张加速卡启动一个进程，用 DistributedDataParallel 训练。请把 train.py 放在主目录中。",
        kind="pytorch",
        partitions=["npu"],
        script=PYTORCH_DDP,
        parameters=[
            {
                "name": "model",
                "type": "choice",
                "label_en": "Model",
                "label_zh": "模型",
                "help_en": "The network to train.",
                "help_zh": "要训练的网络。",
                "default": "resnet50",
                "choices": ["resnet50", "vit-b16", "bert-base"],
            },
            _int("epochs", "Epochs", "训练轮数", 10, 1, 1000),
            _int("batch_size", "Batch size per card", "每卡批大小", 64, 1, 4096),
            {
                "name": "amp",
                "type": "bool",
                "label_en": "Mixed precision",
                "label_zh": "混合精度",
                "help_en": "Train in bfloat16 where it is safe.",
                "help_zh": "在安全的地方使用 bfloat16 训练。",
                "default": True,
            },
        ],
        nodes=1,
        cards_per_node=8,
        cpus_per_node=32,
        memory_gb=256,
        time_limit_minutes=12 * 60,
    ),
    dict(
        slug="mindspore-training",
        name_en="MindSpore training on Ascend",
        name_zh="MindSpore 昇腾训练",
        summary_en="Graph-mode MindSpore training with one worker per card.",
        summary_zh="MindSpore 图模式训练，每张卡一个进程。",
        description_en="Runs msrun with one worker per Ascend card. The data set path is in your home or "
        "scratch directory.",
        description_zh="msrun 为每张昇腾卡启动一个进程。数据集路径位于您的主目录或临时目录中。",
        kind="mindspore",
        partitions=["npu"],
        script=MINDSPORE,
        parameters=[
            {
                "name": "network",
                "type": "choice",
                "label_en": "Network",
                "label_zh": "网络",
                "default": "resnet50",
                "choices": ["resnet50", "yolov5", "pangu-alpha"],
            },
            _text("dataset_path", "Data set directory", "数据集目录", "~/datasets/imagenet"),
            _int("epochs", "Epochs", "训练轮数", 30, 1, 500),
        ],
        nodes=1,
        cards_per_node=8,
        cpus_per_node=32,
        memory_gb=256,
        time_limit_minutes=24 * 60,
    ),
    dict(
        slug="tensorflow-training",
        name_en="TensorFlow / Keras training",
        name_zh="TensorFlow / Keras 训练",
        summary_en="Keras training with a multi-worker strategy.",
        summary_zh="使用多工作进程策略的 Keras 训练。",
        description_en="Trains a Keras model with MultiWorkerMirroredStrategy on the cards of the job.",
        description_zh="在作业的加速卡上用 MultiWorkerMirroredStrategy 训练 Keras 模型。",
        kind="tensorflow",
        partitions=["npu"],
        script=TENSORFLOW,
        parameters=[
            _int("epochs", "Epochs", "训练轮数", 20, 1, 1000),
            {
                "name": "learning_rate",
                "type": "float",
                "label_en": "Learning rate",
                "label_zh": "学习率",
                "default": 0.001,
                "min": 0.000001,
                "max": 1.0,
            },
        ],
        nodes=1,
        cards_per_node=4,
        cpus_per_node=16,
        memory_gb=128,
        time_limit_minutes=8 * 60,
    ),
    dict(
        slug="llm-inference-server",
        name_en="Large-model inference server",
        name_zh="大模型推理服务",
        summary_en="An OpenAI-compatible server for an open model on one card, for long sessions.",
        summary_zh="在一张卡上为开源模型提供兼容 OpenAI 接口的推理服务，适合长时间使用。",
        description_en="Serves a model from your home directory with a vLLM-style server. Reach it through an "
        "SSH tunnel from the login node; cancel the job when you are done so the card-hours stop.",
        description_zh="用 vLLM 类服务加载主目录中的模型。通过登录节点的 SSH 隧道访问；用完后请取消作业以停止计费。",
        kind="inference",
        partitions=["npu"],
        script=INFERENCE,
        parameters=[
            _text("model", "Model directory or name", "模型目录或名称", "Qwen2-7B-Instruct", max_length=300),
            _int("port", "Port", "端口", 8000, 1024, 65535),
            _int("max_model_len", "Context length", "上下文长度", 8192, 512, 131072),
        ],
        nodes=1,
        cards_per_node=1,
        cpus_per_node=8,
        memory_gb=64,
        time_limit_minutes=3 * 24 * 60,
    ),
    dict(
        slug="cpu-data-processing",
        name_en="CPU batch data processing",
        name_zh="CPU 批量数据处理",
        summary_en="Clean and shard a data set on the CPU partition before training.",
        summary_zh="在 CPU 分区上清洗并切分数据集，为训练做准备。",
        description_en="Runs one worker per CPU core of the job over the files of a directory.",
        description_zh="按作业的 CPU 核数启动工作进程，处理目录中的文件。",
        kind="cpu_batch",
        partitions=["cpu"],
        script=CPU_BATCH,
        parameters=[
            _text("input_dir", "Input directory", "输入目录", "~/data/raw"),
            _int("shards", "Shards", "分片数", 64, 1, 10000),
            {
                "name": "compress",
                "type": "bool",
                "label_en": "Compress the shards",
                "label_zh": "压缩分片",
                "default": False,
            },
        ],
        nodes=1,
        cards_per_node=0,
        cpus_per_node=32,
        memory_gb=64,
        time_limit_minutes=4 * 60,
    ),
]


def seed_job_templates(operator: User) -> None:
    """The five templates, published by the demo's operator (once; an operator may change them later)."""
    for spec in DEMO_TEMPLATES:
        if JobTemplate.objects.filter(slug=spec["slug"]).exists():
            continue
        fields = dict(spec)
        partitions = list(Partition.objects.filter(slug__in=fields.pop("partitions")))
        template = catalogue.create_job_template(by=operator, partitions=partitions, **fields)
        catalogue.publish_job_template(template, by=operator)
