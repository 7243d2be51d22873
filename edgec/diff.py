"""Differences between two IRs, path by path (`edgec diff`).

Named things (routes, upstreams, auth providers, aggregate parts) are compared by name,
so a route that moved is not reported as every later route changing. Secrets appear
only as their reference, ${secret:NAME}; the IR never holds a secret's value.
"""
from __future__ import annotations

from typing import Any

from . import ir

IGNORED = {"env"}  # always differs between two environments; says nothing


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"secret"}:
            return "${secret:" + str(value["secret"]) + "}"
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _keyed(items: list) -> dict[str, Any] | None:
    """A list of named objects as {name: object}, when every item has a unique name."""
    if not items or not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    names = [i["name"] for i in items]
    return {n: i for n, i in zip(names, items)} if len(set(names)) == len(names) else None


def _walk(a: Any, b: Any, path: str, out: list[dict[str, Any]]) -> None:
    if a == b:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for key in list(a) + [k for k in b if k not in a]:
            if not path and key in IGNORED:
                continue
            sub = f"{path}.{key}" if path else key
            if key not in b:
                out.append({"path": sub, "op": "removed", "a": a[key]})
            elif key not in a:
                out.append({"path": sub, "op": "added", "b": b[key]})
            else:
                _walk(a[key], b[key], sub, out)
        return
    if isinstance(a, list) and isinstance(b, list):
        ka, kb = _keyed(a), _keyed(b)
        if ka is not None and kb is not None:
            for name in list(ka) + [n for n in kb if n not in ka]:
                sub = f"{path}[{name}]"
                if name not in kb:
                    out.append({"path": sub, "op": "removed", "a": ka[name]})
                elif name not in ka:
                    out.append({"path": sub, "op": "added", "b": kb[name]})
                else:
                    _walk(ka[name], kb[name], sub, out)
            return
        if len(a) == len(b) and all(isinstance(x, (dict, list)) for x in a + b):
            for i, (x, y) in enumerate(zip(a, b)):
                _walk(x, y, f"{path}[{i}]", out)
            return
    out.append({"path": path, "op": "changed", "a": a, "b": b})


def diff_edges(a: ir.Edge, b: ir.Edge) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    _walk(_plain(ir.to_json(a)), _plain(ir.to_json(b)), "", out)
    return out


def _short(value: Any) -> str:
    import json
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def render_text(changes: list[dict[str, Any]], env_a: str, env_b: str) -> str:
    if not changes:
        return f"no differences between {env_a} and {env_b}\n"
    lines = [f"--- {env_a}", f"+++ {env_b}"]
    for c in changes:
        if c["op"] == "changed":
            lines.append(f"~ {c['path']}: {_short(c['a'])} → {_short(c['b'])}")
        elif c["op"] == "added":
            lines.append(f"+ {c['path']}: {_short(c['b'])}")
        else:
            lines.append(f"- {c['path']}: {_short(c['a'])}")
    lines.append(f"{len(changes)} difference{'s' if len(changes) != 1 else ''}")
    return "\n".join(lines) + "\n"
