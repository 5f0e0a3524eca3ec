"""The alliance's capability taxonomy as first offered: the demo, the tests and the benchmark start from it
(operators keep the live list in the back office)."""

CAPABILITIES: list[tuple[str, str, str]] = [  # (short name, Chinese, English)
    ("computer-vision", "计算机视觉", "Computer vision"),
    ("medical-imaging", "医学影像", "Medical imaging"),
    ("nlp", "自然语言处理", "Natural language processing"),
    ("large-models", "大模型", "Large models"),
    ("speech", "语音识别", "Speech recognition"),
    ("knowledge-graph", "知识图谱", "Knowledge graphs"),
    ("edge-ai", "边缘智能", "Edge AI"),
    ("data-annotation", "数据标注", "Data annotation"),
    ("cybersecurity", "网络安全", "Cybersecurity"),
    ("hpc", "高性能计算", "High-performance computing"),
    ("robotics", "机器人", "Robotics"),
    ("autonomous-driving", "自动驾驶", "Autonomous driving"),
    ("recommendation", "推荐系统", "Recommender systems"),
    ("ocr", "文字识别", "OCR"),
    ("digital-twin", "数字孪生", "Digital twins"),
    ("remote-sensing", "遥感分析", "Remote sensing"),
    ("drug-discovery", "药物发现", "Drug discovery"),
    ("quant-finance", "量化金融", "Quantitative finance"),
    ("smart-grid", "智能电网", "Smart grid"),
    ("agri-ai", "农业智能", "Agricultural AI"),
    ("video-analytics", "视频分析", "Video analytics"),
    ("chips", "AI芯片", "AI chips"),
    ("mlops", "模型运维", "MLOps"),
    ("privacy-computing", "隐私计算", "Privacy computing"),
    ("gis", "地理信息", "GIS"),
    ("iot", "物联网", "IoT"),
    ("ar-vr", "增强现实", "AR/VR"),
    ("education-ai", "智慧教育", "Education AI"),
    ("legal-ai", "智慧法务", "Legal AI"),
    ("manufacturing-qc", "工业质检", "Industrial inspection"),
]

# The names of each short name: {"computer-vision": ("计算机视觉", "Computer vision"), ...}
NAMES = {slug: (zh, en) for slug, zh, en in CAPABILITIES}

# The demo offers the first ten.
DEMO_COUNT = 10
