"""Kubernetes object names derived from the edge's names, deterministically.

Kubernetes names are DNS labels (RFC 1123; a Service's also start with a letter, RFC
1035), at most 63 characters; a route's may also hold dots (a DNS subdomain). A name the source spells otherwise ("orders_v2",
"API.Shop") is lower-cased with every other character turned into "-"; because two
source names can then meet ("a_b", "a-b"), a changed or shortened name gets a short hash
of what was written.
"""
from __future__ import annotations

import hashlib
import re

MAX = 63
_OTHER = re.compile(r"[^a-z0-9]+")
_OTHER_DOTTED = re.compile(r"[^a-z0-9.]+|(?<=\.)\.+")


def label(*parts: str, dots: bool = False) -> str:
    """A DNS-1035 label for the parts joined with "-" (with `dots`, a DNS subdomain whose
    labels are such)."""
    written = "-".join(parts)
    name = (_OTHER_DOTTED if dots else _OTHER).sub("-", written.lower()).strip("-.")
    if dots:
        name = re.sub(r"-*\.-*", ".", name)
    if not name or not name[0].isalpha():
        name = "e-" + name
    if name == written and len(name) <= MAX:
        return name
    digest = hashlib.sha256(written.encode()).hexdigest()[:6]
    return f"{name[:MAX - 7].rstrip('-')}-{digest}"


def host_slug(host: str | None) -> str:
    """The part of an HTTPRoute's name that says which host it serves."""
    if host is None:
        return "any-host"
    return ("wildcard-" + host[2:]) if host.startswith("*.") else host
