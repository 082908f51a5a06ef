#!/usr/bin/env python3
"""Sanity checker for the bundled omnikb demo knowledge base.

Usage: python3 demo/check_demo.py [DEMO_DIR]

Checks (see docs/authoring.md):
- front matter parses as YAML, only allowed keys, required keys present;
- slug format, locale matches folder, slug matches file name, slug unique per locale;
- `fields` validates against content-schemas/<type>.json (JSON Schema 2020-12);
- every {{snippet:KEY}} exists in the article's locale;
- every `related` slug exists in the same locale;
- `:::` fenced blocks are balanced, not nested, and use known names;
- every translation group has both zh-CN and en;
- snippet files have the allowed keys and a one-line body.
Prints counts and exits 1 on any error.
"""
import collections
import datetime
import json
import pathlib
import re
import sys

import yaml
from jsonschema import Draft202012Validator

HERE = pathlib.Path(__file__).resolve().parent
DEMO = pathlib.Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else HERE
SCHEMAS = DEMO.parent / "content-schemas"
LOCALES = ["zh-CN", "en"]
ALLOWED_KEYS = {"slug", "type", "locale", "title", "translation_key", "category", "tags",
                "audience", "effective_from", "expires_at", "review_by", "confidence", "fields"}
REQUIRED_KEYS = {"slug", "type", "locale", "title"}
SNIPPET_KEYS = {"key", "locale", "title", "say_as", "variants"}
SAY_AS = {"telephone", "cardinal", "currency", "date", "characters"}
BLOCK_NAMES = {"internal", "web", "ivr", "voice", "agent", "bot", "sms", "note", "warning", "tip"}
SLUG_RE = re.compile(r"^[a-z0-9-]{2,80}$")
SNIPPET_REF_RE = re.compile(r"\{\{\s*snippet:([^}\s]*)\s*\}\}")
SNIPPET_KEY_RE = re.compile(r"^[a-z0-9_-]+$")
TODAY = datetime.date(2026, 11, 22)

errors = []


def err(path, msg, line=None):
    loc = f"{path.relative_to(DEMO)}" + (f":{line}" if line else "")
    errors.append(f"{loc}: {msg}")


def split_front_matter(path):
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        err(path, "file must start with a '---' line", 1)
        return None, None, 0
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1:]), i + 1
    err(path, "front matter is not closed by a '---' line", 1)
    return None, None, 0


def key_line(fm_text, key):
    for n, l in enumerate(fm_text.split("\n"), start=2):
        if re.match(rf"^{re.escape(key)}\s*:", l):
            return n
    return None


def iter_strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from iter_strings(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from iter_strings(x)


def as_date(v):
    if isinstance(v, datetime.datetime):
        return v.date()
    if isinstance(v, datetime.date):
        return v
    try:
        return datetime.date.fromisoformat(str(v)[:10])
    except ValueError:
        return None


# ---------- snippets ----------
snippets = {loc: {} for loc in LOCALES}
for loc in LOCALES:
    for path in sorted((DEMO / "snippets" / loc).glob("*.md")):
        fm_text, body, body_line = split_front_matter(path)
        if fm_text is None:
            continue
        try:
            fm = yaml.safe_load(fm_text) or {}
        except yaml.YAMLError as e:
            err(path, f"YAML error: {e}")
            continue
        for k in fm:
            if k not in SNIPPET_KEYS:
                err(path, f"unknown snippet key '{k}'", key_line(fm_text, k))
        for k in ("key", "locale", "title"):
            if k not in fm:
                err(path, f"missing '{k}'")
        key = fm.get("key")
        if key != path.stem:
            err(path, f"key '{key}' does not match file name")
        if not isinstance(key, str) or not SNIPPET_KEY_RE.match(key):
            err(path, f"bad snippet key {key!r}")
        if fm.get("locale") != loc:
            err(path, f"locale {fm.get('locale')!r} does not match folder {loc}")
        if "say_as" in fm and fm["say_as"] not in SAY_AS:
            err(path, f"bad say_as {fm['say_as']!r}")
        if "variants" in fm:
            v = fm["variants"]
            if not isinstance(v, dict) or not all(isinstance(x, str) for x in v.values()):
                err(path, "variants must map channel names to strings")
            else:
                for ch in v:
                    if ch not in {"web", "ivr", "voice", "agent", "bot", "sms"}:
                        err(path, f"unknown variant channel '{ch}'")
        body_lines = [l for l in body.split("\n") if l.strip()]
        if len(body_lines) != 1:
            err(path, f"snippet body must be one line (got {len(body_lines)})", body_line)
        if "{{" in body:
            err(path, "snippet body must not reference snippets", body_line)
        snippets[loc][key] = body_lines[0] if body_lines else ""

# ---------- articles ----------
validators = {}
for schema_path in sorted(SCHEMAS.glob("*.json")):
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    validators[schema_path.stem] = Draft202012Validator(schema)

articles = {loc: {} for loc in LOCALES}  # loc -> slug -> (path, fm, body, body_line)
for loc in LOCALES:
    for path in sorted((DEMO / "articles" / loc).glob("*.md")):
        fm_text, body, body_line = split_front_matter(path)
        if fm_text is None:
            continue
        try:
            fm = yaml.safe_load(fm_text)
        except yaml.YAMLError as e:
            err(path, f"YAML error: {e}")
            continue
        if not isinstance(fm, dict):
            err(path, "front matter is not a mapping")
            continue
        for k in fm:
            if k not in ALLOWED_KEYS:
                err(path, f"unknown front matter key '{k}'", key_line(fm_text, k))
        for k in REQUIRED_KEYS:
            if k not in fm:
                err(path, f"missing required key '{k}'")
        slug = fm.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug) or not re.search("[a-z]", slug):
            err(path, f"bad slug {slug!r}")
            continue
        if slug != path.stem:
            err(path, f"slug '{slug}' does not match file name")
        if fm.get("locale") != loc:
            err(path, f"locale {fm.get('locale')!r} does not match folder {loc}")
        if slug in articles[loc]:
            err(path, f"duplicate slug '{slug}' in {loc}")
        if fm.get("type") not in validators:
            err(path, f"unknown type {fm.get('type')!r}")
        if fm.get("audience", "public") not in ("public", "internal"):
            err(path, f"bad audience {fm.get('audience')!r}")
        if "confidence" in fm and fm["confidence"] not in ("wip", "not_validated", "validated"):
            err(path, f"bad confidence {fm['confidence']!r}")
        for k in ("effective_from", "expires_at", "review_by"):
            if k in fm and as_date(fm[k]) is None:
                err(path, f"'{k}' is not an RFC 3339 date", key_line(fm_text, k))
        if "effective_from" in fm and "expires_at" in fm:
            if as_date(fm["effective_from"]) >= as_date(fm["expires_at"]):
                err(path, "effective_from must be before expires_at")
        tags = fm.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            err(path, "tags must be a list of strings")
        elif not 2 <= len(tags) <= 4:
            err(path, f"expected 2-4 tags, got {len(tags)}")
        cat = fm.get("category")
        if cat is not None and (not isinstance(cat, str) or len(cat.split("/")) != 2
                                or not all(p.strip() for p in cat.split("/"))):
            err(path, f"category must be a 2-level path, got {cat!r}")
        if not isinstance(fm.get("title"), str) or not fm.get("title", "").strip():
            err(path, "title must be a non-empty string")
        fields = fm.get("fields", {})
        if fields is None:
            fields = {}
        if fm.get("type") in validators:
            v = validators[fm["type"]]
            for e in sorted(v.iter_errors(fields), key=lambda e: list(e.path)):
                p = "/".join(str(x) for x in e.path) or "(fields)"
                err(path, f"fields/{p}: {e.message}", key_line(fm_text, "fields"))
        for s in iter_strings(fields):
            if not isinstance(s, str):
                err(path, "non-string value inside fields")
        if not body.strip():
            err(path, "empty body")
        articles[loc][slug] = (path, fm, body, body_line, fm_text)

# ---------- cross checks ----------
usage = {loc: collections.Counter() for loc in LOCALES}
for loc in LOCALES:
    for slug, (path, fm, body, body_line, fm_text) in articles[loc].items():
        used = set()
        texts = [(body, body_line)] + [(s, None) for s in iter_strings(fm.get("fields") or {})] \
            + [(fm.get("title", ""), key_line(fm_text, "title"))]
        for text, base in texts:
            for m in SNIPPET_REF_RE.finditer(text):
                key = m.group(1)
                line = base + text[:m.start()].count("\n") if base else key_line(fm_text, "fields")
                if key not in snippets[loc]:
                    err(path, f"unknown snippet '{key}' in {loc}", line)
                used.add(key)
            if "{{" in SNIPPET_REF_RE.sub("", text):
                err(path, "malformed '{{' reference", base)
        for key in used:
            usage[loc][key] += 1
        for r in (fm.get("fields") or {}).get("related", []) or []:
            if r not in articles[loc]:
                err(path, f"related slug '{r}' does not exist in {loc}", key_line(fm_text, "fields"))
            elif r == slug:
                err(path, "article lists itself as related")
            elif fm.get("audience", "public") == "public" and \
                    articles[loc][r][1].get("audience", "public") == "internal":
                err(path, f"public article relates to internal article '{r}'")
        # fenced blocks
        open_line = None
        for n, l in enumerate(body.split("\n"), start=body_line + 1):
            s = l.strip()
            if not s.startswith(":::"):
                continue
            names = s[3:].split()
            if names:
                if open_line is not None:
                    err(path, f"nested block (outer opened at line {open_line})", n)
                for name in names:
                    if name not in BLOCK_NAMES:
                        err(path, f"unknown block name '{name}'", n)
                open_line = n
            else:
                if open_line is None:
                    err(path, "':::' closes no block", n)
                open_line = None
        if open_line is not None:
            err(path, "unclosed block", open_line)

groups = collections.defaultdict(dict)
for loc in LOCALES:
    for slug, (path, fm, *_rest) in articles[loc].items():
        groups[fm.get("translation_key", slug)][loc] = fm
for key, locs in sorted(groups.items()):
    for loc in LOCALES:
        if loc not in locs:
            errors.append(f"translation group '{key}' has no {loc} article")
    if len(locs) == 2:
        a, b = locs["zh-CN"], locs["en"]
        for k in ("type", "audience", "effective_from", "expires_at"):
            if a.get(k) != b.get(k):
                errors.append(f"translation group '{key}': '{k}' differs ({a.get(k)!r} vs {b.get(k)!r})")
        ra = sorted((a.get("fields") or {}).get("related", []) or [])
        rb = sorted((b.get("fields") or {}).get("related", []) or [])
        if ra != rb:
            errors.append(f"translation group '{key}': related differs between locales")

# ---------- report ----------
print(f"demo dir: {DEMO}")
for loc in LOCALES:
    by_type = collections.Counter(fm.get("type") for (_p, fm, *_r) in articles[loc].values())
    print(f"{loc}: {len(articles[loc])} articles " + ", ".join(f"{t}={n}" for t, n in sorted(by_type.items()))
          + f"; {len(snippets[loc])} snippets")
print(f"translation groups: {len(groups)}")
cats = collections.Counter()
for loc in LOCALES:
    for (_p, fm, *_r) in articles[loc].values():
        cats[(loc, fm.get("category"))] += 1
for loc in LOCALES:
    print(f"categories {loc}: " + ", ".join(f"{c}={n}" for (l, c), n in sorted(cats.items()) if l == loc))
for loc in LOCALES:
    print(f"snippet usage {loc} (articles): " + ", ".join(f"{k}={usage[loc][k]}" for k in sorted(snippets[loc])))


def count(pred):
    return {loc: sum(1 for (_p, fm, body, *_r) in articles[loc].values() if pred(fm, body)) for loc in LOCALES}


def has_field(name):
    return lambda fm, body: name in (fm.get("fields") or {})


print("internal_notes:", count(has_field("internal_notes")))
print("::: internal blocks:", count(lambda fm, b: re.search(r"^:::\s*internal\b", b, re.M) is not None))
print("callouts (note/warning/tip):", count(lambda fm, b: re.search(r"^:::\s*(note|warning|tip)\b", b, re.M) is not None))
print("audience internal:", count(lambda fm, b: fm.get("audience") == "internal"))
print("related:", count(has_field("related")))
print("voice fields:", count(lambda fm, b: bool({"summary_voice", "body_voice"} & set(fm.get("fields") or {}))))
print("tables:", count(lambda fm, b: re.search(r"^\|.*\|\s*$", b, re.M) is not None))
print("images:", count(lambda fm, b: "![" in b))
print("expired (expires_at < today):", count(lambda fm, b: "expires_at" in fm and as_date(fm["expires_at"]) < TODAY))
print("future (effective_from > today):", count(lambda fm, b: "effective_from" in fm and as_date(fm["effective_from"]) > TODAY))
print("review_by past:", count(lambda fm, b: "review_by" in fm and as_date(fm["review_by"]) < TODAY))

# minimum coverage the demo promises
for loc in LOCALES:
    by_type = collections.Counter(fm.get("type") for (_p, fm, *_r) in articles[loc].values())
    for t, n in {"faq": 8, "procedure": 5, "troubleshooting": 6, "policy": 3, "announcement": 3}.items():
        if by_type[t] < n:
            errors.append(f"{loc}: only {by_type[t]} {t} articles (want >= {n})")
    for k in ("hotline", "office-hours", "card-replacement-fee", "bank-hotline"):
        if usage[loc][k] < 6:
            errors.append(f"{loc}: snippet '{k}' used by only {usage[loc][k]} articles (want >= 6)")
if len(groups) < 24:
    errors.append(f"only {len(groups)} translation groups (want >= 24)")

if errors:
    print(f"\n{len(errors)} error(s):")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print("\nOK: 0 errors")
