"""AWS resource names derived from the edge: deterministic, valid, and distinct.

ALB and target-group names allow 32 characters of [A-Za-z0-9-], not starting or ending
with '-', no '--' (moto) and no leading 'internal-'. WAF names allow 128 of [A-Za-z0-9_-].
When the readable form had to change (characters replaced, text cut), a hash of the
original text is appended so that two different inputs never share a name.
"""
from __future__ import annotations

import hashlib
import re


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def elb_name(*parts: str) -> str:
    original = "-".join(p for p in parts if p)
    text = re.sub(r"[^A-Za-z0-9]+", "-", original).strip("-")
    text = re.sub(r"^internal-", "int-", text)
    if text == original and len(text) <= 32 and text:
        return text
    return (text[:25].strip("-") + "-" + _hash(original)).lstrip("-")


def waf_name(*parts: str) -> str:
    original = "-".join(p for p in parts if p)
    text = re.sub(r"[^A-Za-z0-9_-]+", "-", original).strip("-")
    if text == original and len(text) <= 128 and text:
        return text
    return (text[:120] + "-" + _hash(original)).lstrip("-")


def jmespath_literal(text: str) -> str:
    """A value inside a JMESPath '...' literal. Resource names never hold quotes or
    backslashes; tag values cannot (the model's pattern refuses them before rendering)."""
    if "'" in text or "\\" in text:
        raise ValueError(f"cannot put {text!r} in a JMESPath literal")
    return "'" + text + "'"
