"""An nginx configuration as a tree of directives, read with crossplane (nginx's parser in Python),
includes followed, each directive knowing the file and line it was written on."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics import Diagnostic, Span, diagnostic


@dataclass
class Directive:
    name: str
    args: list[str]
    file: str
    line: int
    block: list["Directive"] | None = None
    parent: "Directive | None" = field(default=None, repr=False)

    def children(self, name: str) -> list["Directive"]:
        return [d for d in self.block or () if d.name == name]

    def first(self, name: str) -> "Directive | None":
        found = self.children(name)
        return found[-1] if found else None  # nginx takes the last of a repeated simple directive


@dataclass
class Config:
    root: Directive  # a block without a name holding the main context
    sources: dict[str, str]  # file → text, for diagnostics' excerpts


def span(d: Directive, sources: dict[str, str]) -> Span:
    """Where the directive's name is on its line (crossplane knows only the line)."""
    lines = sources.get(d.file, "").split("\n")
    text = lines[d.line - 1] if 0 < d.line <= len(lines) else ""
    col = text.find(d.name) + 1 if d.name in text else 1
    return Span(d.line, col, d.line, col + len(d.name))


def load(path: str) -> tuple[Config | None, list[Diagnostic]]:
    import crossplane
    try:
        payload = crossplane.parse(path, combine=False, comments=False, catch_errors=True,
                                   check_ctx=True, check_args=True)
    except Exception as err:  # crossplane raises for some unreadable inputs instead of reporting them
        return None, [diagnostic("E501", f"cannot read the nginx configuration: {err}", path, Span(1, 1, 1, 2))]
    configs = payload["config"]
    sources: dict[str, str] = {}
    for c in configs:
        try:
            with open(c["file"], encoding="utf-8") as f:
                sources[c["file"]] = f.read()
        except (OSError, UnicodeDecodeError):
            sources[c["file"]] = ""
    problems = [diagnostic("E501", e["error"].split(" in ")[0], e.get("file") or path,
                           Span.point(e["line"], 1) if e.get("line") else Span(1, 1, 1, 2),
                           hint="the file must pass `nginx -t`; fix it there first")
                for e in payload["errors"]]
    if problems:
        return None, problems

    def tree(items: list[dict], file: str, parent: Directive) -> list[Directive]:
        out: list[Directive] = []
        for item in items:
            if item["directive"] == "include":
                for index in item.get("includes", []):
                    inc = configs[index]
                    out.extend(tree(inc["parsed"], inc["file"], parent))
                continue
            d = Directive(item["directive"], list(item["args"]), file, item["line"], None, parent)
            if "block" in item:
                d.block = tree(item["block"], file, d)
            out.append(d)
        return out
    root = Directive("", [], path, 1, [], None)
    root.block = tree(configs[0]["parsed"], configs[0]["file"], root)
    return Config(root, sources), []
