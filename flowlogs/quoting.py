"""How error messages quote what a user supplied: a pasted value can be any length."""

from __future__ import annotations


def cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how long it really is."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"
