#!/usr/bin/env python3
"""Writes N generated FAQ-sized articles as omnikb Markdown files, for measuring
`omnikb import --publish` and `omnikb reindex` on a real database (docs/performance.md).

The vocabulary is read from benches/search.rs (the search benchmark's generator), so the
files resemble what that benchmark indexes: 70 % zh-CN, frequent terms (宽带, 花呗,
broadband) in most documents, 1 % rare words, 10 % internal, 5 % expired.

    scripts/gen-search-corpus.py 100000 /tmp/corpus     # -> /tmp/corpus/articles/<locale>/*.md
"""

import os
import random
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def consts():
    src = open(os.path.join(ROOT, "benches", "search.rs"), encoding="utf-8").read()
    out = {}
    for name, body in re.findall(r"const (\w+): &\[&str\] = &\[(.*?)\];", src, re.S):
        out[name] = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    for need in ("ZH", "ZH_RARE", "EN", "EN_RARE", "CATS_ZH", "CATS_EN", "TYPES"):
        if not out.get(need):
            sys.exit(f"benches/search.rs: word list {need} not found")
    return out


def words(rng, c, zh, n):
    out = []
    for _ in range(n):
        if zh:
            out.append(rng.choice(c["ZH_RARE"] if rng.random() < 0.01 else c["ZH"]))
        else:
            out.append(rng.choice(c["EN_RARE"] if rng.random() < 0.01 else c["EN"]))
    if zh:
        if rng.random() < 0.6:
            out.insert(rng.randint(0, len(out)), "宽带")
        if rng.random() < 0.5:
            out.insert(rng.randint(0, len(out)), "花呗")
        return "".join(out)
    if rng.random() < 0.6:
        out.insert(rng.randint(0, len(out)), "broadband")
    return " ".join(out)


def quoted(s):
    """A YAML double-quoted scalar."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    n, out = int(sys.argv[1]), sys.argv[2]
    c = consts()
    rng = random.Random(20261122)
    for loc in ("zh-CN", "en"):
        os.makedirs(os.path.join(out, "articles", loc), exist_ok=True)
    for i in range(n):
        zh = rng.random() < 0.7
        loc = "zh-CN" if zh else "en"
        title = words(rng, c, zh, 4)[:120]
        questions = [words(rng, c, zh, 6)[:200] for _ in range(rng.randint(0, 3))]
        summary = words(rng, c, zh, 15)
        body = words(rng, c, zh, 80)
        tags = sorted({rng.choice(c["ZH"] if zh else c["EN"]) for _ in range(rng.randint(1, 3))})
        lines = [
            "---",
            f"slug: doc-{i}",
            "type: faq",
            f"locale: {loc}",
            f"title: {quoted(title)}",
            f"category: {quoted(rng.choice(c['CATS_ZH'] if zh else c['CATS_EN']))}",
            "tags: [" + ", ".join(quoted(t) for t in tags) + "]",
        ]
        if rng.random() < 0.1:
            lines.append("audience: internal")
        lines.append("effective_from: 2026-01-01")
        if rng.random() < 0.05:
            lines.append("expires_at: 2026-03-31")
        lines.append("fields:")
        lines.append(f"  question: {quoted(title)}")
        if questions:
            lines.append("  alternate_questions:")
            lines.extend(f"    - {quoted(q)}" for q in questions)
        lines.append(f"  summary: {quoted(summary)}")
        lines.append("---")
        lines.append(body)
        lines.append("")
        path = os.path.join(out, "articles", loc, f"doc-{i}.md")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines))


if __name__ == "__main__":
    main()
