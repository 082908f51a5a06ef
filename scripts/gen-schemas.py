#!/usr/bin/env python3
"""Writes content-schemas/*.json. The shared fields live here once; edit and re-run.

The files are the source of truth at run time (reloaded when they change); this script only
keeps the five of them consistent when a shared field changes."""
import json, pathlib

ALL = ["web", "ivr", "agent", "bot", "sms"]

def text(zh, en, min_len=1, max_len=2000, channels=ALL, **extra):
    ann = {"label": {"zh-CN": zh, "en": en}, "channels": channels}
    ann.update(extra)
    return {"type": "string", "minLength": min_len, "maxLength": max_len, "x-omnikb": ann}

def text_list(zh, en, max_items=30, channels=ALL, **extra):
    ann = {"label": {"zh-CN": zh, "en": en}, "channels": channels, "widget": "list"}
    ann.update(extra)
    return {"type": "array", "maxItems": max_items,
            "items": {"type": "string", "minLength": 1, "maxLength": 300}, "x-omnikb": ann}

COMMON = {
    "summary": text("摘要", "Summary", 4, 400, voice="summary_voice"),
    "summary_voice": text("摘要（语音版）", "Summary (spoken)", 4, 400, channels=["ivr"],
                          voice_of="summary", widget="textarea"),
    "body_voice": text("正文（语音版）", "Body (spoken)", 4, 4000, channels=["ivr"],
                       voice_of="body", widget="textarea"),
    "sms_text": text("短信文本", "SMS text", 4, 300, channels=["sms"], widget="textarea"),
    "internal_notes": text("内部备注", "Internal notes", 1, 4000, channels=["agent"],
                           internal=True, widget="textarea"),
    "related": {"type": "array", "maxItems": 10,
                "items": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{1,79}$"},
                "x-omnikb": {"label": {"zh-CN": "相关文章", "en": "Related articles"},
                             "channels": ALL, "widget": "list", "ref": "article"}},
}

TYPES = {
    "faq": dict(
        label={"zh-CN": "常见问题", "en": "FAQ"},
        body={"zh-CN": "答案", "en": "Answer", "role": "answer"},
        required=[], approvals=1, verification_days=180,
        fields={
            "question": text("问题", "Question", 2, 200),
            "alternate_questions": text_list("客户常见问法", "Alternate questions (how customers ask)",
                                             search_boost=3),
        }),
    "procedure": dict(
        label={"zh-CN": "办理流程", "en": "Procedure"},
        body={"zh-CN": "操作步骤", "en": "Steps", "role": "steps"},
        required=["summary"], approvals=1, verification_days=180,
        fields={"prerequisites": text_list("前提条件", "Prerequisites")}),
    "troubleshooting": dict(
        label={"zh-CN": "故障排查", "en": "Troubleshooting"},
        body={"zh-CN": "解决方法", "en": "Resolution", "role": "steps"},
        required=["issue"], approvals=1, verification_days=90,
        fields={
            "issue": text("问题现象", "Issue", 2, 500),
            "environment": text("适用环境", "Environment", 1, 500),
            "cause": text("原因", "Cause", 1, 1000),
        }),
    "policy": dict(
        label={"zh-CN": "政策规定", "en": "Policy"},
        body={"zh-CN": "政策全文", "en": "Policy text", "role": "text"},
        required=["summary"], approvals=1, verification_days=365,
        fields={"policy_number": text("文号", "Policy number", 1, 60)}),
    "announcement": dict(
        label={"zh-CN": "公告", "en": "Announcement"},
        body={"zh-CN": "公告正文", "en": "Announcement text", "role": "text"},
        required=["summary"], approvals=2, verification_days=30,
        fields={
            "regions": text_list("影响地区", "Affected regions"),
            "products": text_list("影响产品", "Affected products"),
        }),
}

out = pathlib.Path(__file__).resolve().parent.parent / "content-schemas"
out.mkdir(exist_ok=True)
for name, t in TYPES.items():
    props = dict(t["fields"])
    for k, v in COMMON.items():
        props.setdefault(k, v)
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://omnikb.dev/content-schemas/{name}.json",
        "title": t["label"]["en"],
        "description": f"Fields of an omnikb '{name}' article (front matter `fields:`).",
        "type": "object",
        "additionalProperties": False,
        "required": t["required"],
        "properties": props,
        "x-omnikb": {
            "type": name,
            "label": t["label"],
            "body": {"label": {"zh-CN": t["body"]["zh-CN"], "en": t["body"]["en"]},
                     "role": t["body"]["role"], "required": True},
            "approvals": t["approvals"],
            "verification_days": t["verification_days"],
        },
    }
    (out / f"{name}.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
print("wrote", sorted(p.name for p in out.glob("*.json")))
