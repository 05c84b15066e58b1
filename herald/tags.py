"""Tags as a searchable string: ``;k:v;k:v;`` (sorted), matched with LIKE."""

from __future__ import annotations


def tag_index(tags: dict[str, str]) -> str:
    return ";" + "".join(f"{k}:{v};" for k, v in sorted(tags.items()))


def parse_filter(value: str) -> list[str]:
    """``k:v;k2:v2;`` → ``[";k:v;", ";k2:v2;"]``; raises ValueError when malformed."""
    parts = [p for p in value.split(";") if p]
    if not parts or len(parts) > 10:
        raise ValueError("tags takes 1 to 10 key:value pairs, each ending with ';'")
    out = []
    for part in parts:
        key, sep, val = part.partition(":")
        if not sep or not key:
            raise ValueError("tags takes key:value pairs, each ending with ';'")
        out.append(f";{key}:{val};")
    return out


def like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
