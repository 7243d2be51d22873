"""nginx's choice of a location, and the path matches that make edgec choose the same.

`pick` is nginx's own search (ngx_http_core_find_location and its static tree, nginx 1.22):
an `=` location when the path equals it; else the longest prefix location, whose nested
locations are searched the same way; then, unless that prefix is `^~`, the regex locations
innermost first and in file order; else the longest prefix. A path that is a prefix location
ending in "/" minus that "/" is answered 301 when the location proxies (`auto_redirect`).

edgec ranks exact paths, then regexes in order of appearance, then the longest element-wise
prefix (docs/semantics.md). `plan` lays every nginx location out on that order:

    exact     every path nginx decides by a rule of its own (an `=` location, a name ending
              in "/" without it) is an exact match on the route of what `pick` answers for it
    regex     `^~` prefixes (and prefixes no regex can reach) where regexes can take their
              paths: the paths the prefix owns, as a regex ahead of the regex locations;
              nested regex locations (innermost first), then the server's in file order;
              then the paths a prefix without a final "/" owns past an element boundary
              (`/api` owns `/api-docs`), which an edgec prefix never matches
    prefix    every other prefix location as an edgec prefix

What cannot be laid out so (a regex nested where it would need two path conditions at once, a
location nested in a regex location) is returned as a problem, never approximated.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .nginx_config import Directive

# the handlers after which nginx answers a path equal to a location's name minus its final "/"
# with a 301 to the name (ngx_http_core_loc_conf_t.auto_redirect)
PROXYING = frozenset({"proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "memcached_pass", "grpc_pass"})
REGEX = ("~", "~*")


@dataclass(eq=False)
class Location:
    modifier: str  # "" (prefix), "=", "^~", "~", "~*"
    name: str  # the path, or the regex's source
    directive: Directive
    parent: "Location | None" = None
    children: list["Location"] = field(default_factory=list)

    @property
    def is_regex(self) -> bool:
        return self.modifier in REGEX

    @property
    def is_prefix(self) -> bool:
        return self.modifier in ("", "^~")

    @property
    def auto_redirect(self) -> bool:
        return (not self.is_regex and self.name.endswith("/")
                and any(d.name in PROXYING for d in self.directive.block or ()))

    @property
    def label(self) -> str:
        return f"location {self.modifier + ' ' if self.modifier else ''}{self.name}"

    def search(self, path: str) -> bool:
        return re.search(self.name, path, re.I if self.modifier == "~*" else 0) is not None

    def chain(self):
        node = self
        while node is not None:
            yield node
            node = node.parent


def locations(block: Directive, parent: Location | None = None) -> list[Location]:
    out = []
    for d in block.children("location"):
        modifier, loc_name = (d.args[0], d.args[1]) if len(d.args) == 2 else ("", d.args[0])
        loc = Location(modifier, loc_name, d, parent)
        loc.children = locations(d, loc)
        out.append(loc)
    return out


def every(level: list[Location]):
    for loc in level:
        yield loc
        yield from every(loc.children)


@dataclass(frozen=True)
class Pick:
    location: Location | None  # None: no location (nginx serves the server's own files: 404 here)
    redirect: bool = False  # answered 301 to the path with "/" added


_OK, _AGAIN, _DONE, _DECLINED = "ok", "again", "done", "declined"


def pick(level: list[Location], path: str) -> Pick:
    rc, loc = _find(level, path, None)
    return Pick(loc, rc == _DONE)


def _static(level: list[Location], path: str) -> tuple[str, Location | None]:
    statics = [loc for loc in level if not loc.is_regex]
    for loc in statics:
        if loc.modifier == "=" and loc.name == path:
            return _OK, loc
    for loc in statics:
        if loc.is_prefix and loc.name == path:
            return _AGAIN, loc
    for loc in statics:
        if loc.auto_redirect and loc.name == path + "/":
            return _DONE, loc
    longest = max((loc for loc in statics if loc.is_prefix and path.startswith(loc.name)),
                  key=lambda loc: len(loc.name), default=None)
    return (_AGAIN, longest) if longest else (_DECLINED, None)


def _find(level: list[Location], path: str, current: Location | None) -> tuple[str, Location | None]:
    rc, found = _static(level, path)
    current = found or current
    noregex = False
    if rc == _AGAIN:
        noregex = found.modifier == "^~"
        rc, current = _find(found.children, path, current)
    if rc in (_OK, _DONE):
        return rc, current
    if not noregex:
        for loc in level:
            if loc.is_regex and loc.search(path):
                return _OK, _find(loc.children, path, loc)[1]
    return rc, current


# ---- the layout on edgec's order -------------------------------------------------------------

@dataclass
class Line:
    kind: str  # exact | prefix | regex
    value: str
    pick: Pick  # what nginx answers for the paths of this line


@dataclass
class Plan:
    lines: list[Line]  # in edgec's precedence order
    problems: list[tuple[Location, str]]
    unreachable: list[Location]  # prefix locations nginx never chooses (a longer one always wins)


_META = set("\\.^$|?*+()[]{}")


def literal(text: str) -> str:
    """`text` as a regex of the portable dialect matching exactly it."""
    return "".join("\\" + c if c in _META else c for c in text)


def _class_char(c: str) -> str:
    return c if c.isalnum() and c.isascii() else "\\" + c


def _not_starting(suffixes: set[str]) -> str | None:
    """A regex for every string (the empty one included) that starts with none of `suffixes`;
    None when one of them is empty (nothing is left)."""
    if not suffixes:
        return ".*"
    if "" in suffixes:
        return None
    heads: dict[str, set[str]] = {}
    for s in suffixes:
        heads.setdefault(s[0], set()).add(s[1:])
    alts = ["[^" + "".join(_class_char(c) for c in sorted(heads)) + "].*"]
    for c in sorted(heads):
        rest = _not_starting(heads[c])
        if rest is not None:
            alts.append(literal(c) + rest)
    return "(?:" + "|".join(alts) + ")?"


def owned(prefix: str, longer: set[str], past_boundary: bool = False) -> str | None:
    """The paths starting with `prefix` and with none of the `longer` names: a regex (dot matching
    every character, as a prefix does); with past_boundary, only those whose next character is
    there and is not "/". None: there is no such path."""
    suffixes = {q[len(prefix):] for q in longer}
    if past_boundary:
        suffixes.add("/")
    rest = _not_starting(suffixes)
    if rest is None:
        return None
    if past_boundary:
        if rest == ".*":
            return f"(?s){literal(prefix)}.+"
        rest = rest[:-1]  # the group, no longer optional: at least one character follows
    return f"(?s){literal(prefix)}{rest}"


def regex_of(loc: Location) -> str:
    """An nginx regex location (searched anywhere in the path) as a whole-path regex."""
    src = loc.name
    flags = "(?i)" if loc.modifier == "~*" else ""
    anything = r"[\s\S]*"
    if _top_level_bar(src):
        return f"{flags}{anything}(?:{src}){anything}"
    head = src[1:] if src.startswith("^") else anything + src
    ends = src.endswith("$") and (len(src[:-1]) - len(src[:-1].rstrip("\\"))) % 2 == 0
    return flags + (head[:-1] if ends else head + anything)


def _top_level_bar(src: str) -> bool:
    depth, i, in_class = 0, 0, False
    while i < len(src):
        c = src[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            return True
        i += 1
    return False


def _wins_over(loc: Location, level_of: dict) -> set[str]:
    """Names of prefix locations that take the paths of `loc` which start with them."""
    out = {c.name for c in loc.children if c.is_prefix}
    for node in loc.chain():
        out |= {s.name for s in level_of[id(node)] if s.is_prefix and s is not node
                and s.name.startswith(loc.name) and len(s.name) > len(loc.name)}
    return out


def _shadowed(loc: Location, level_of: dict) -> bool:
    """A longer prefix at the level of loc or of one of its parents takes all its paths."""
    return any(s.is_prefix and s is not node and len(s.name) > len(node.name) and loc.name.startswith(s.name)
               for node in loc.chain() for s in level_of[id(node)])


def _regexes_tried(loc: Location, level_of: dict) -> list[Location]:
    """The regex locations nginx tries, in order, on a path whose prefix search ended at loc."""
    tried = [c for c in loc.children if c.is_regex]
    for node in loc.chain():
        if node.modifier != "^~":  # a `^~` skips the regexes of its own level only
            tried += [s for s in level_of[id(node)] if s.is_regex]
    return tried


def plan(server_locations: list[Location]) -> Plan:
    problems: list[tuple[Location, str]] = []
    level_of: dict[int, list[Location]] = {}

    def index(level: list[Location]) -> None:
        for loc in level:
            level_of[id(loc)] = level
            index(loc.children)
    index(server_locations)
    every_loc = list(every(server_locations))
    for loc in every_loc:
        if loc.parent is not None and not loc.is_regex and not loc.name.startswith(loc.parent.name):
            problems.append((loc, f"`{loc.label}` is outside `{loc.parent.label}` (nginx -t refuses it)"))
        if loc.children and not loc.is_prefix:
            problems.append((loc.children[0], f"a location nested in `{loc.label}`: nginx searches nested locations "
                                              "again after this one, which edgec's routing has no way to repeat"))
    top = [loc for loc in server_locations if loc.is_regex]
    statics = [loc for loc in every_loc if loc.is_prefix and (loc.parent is None or loc.parent.is_prefix)]
    nested_blocks = [loc for loc in statics if any(c.is_regex for c in loc.children)]
    for block in nested_blocks:
        reason = _nested_problem(block, statics)
        if reason:
            problems.append((next(c for c in block.children if c.is_regex), reason))
    nested_ids = {id(c) for b in nested_blocks for c in b.children if c.is_regex}
    any_regex = bool(top or nested_ids)
    lines: list[Line] = []
    # exact: the paths nginx answers by a rule of its own
    special = {loc.name for loc in every_loc if loc.modifier == "="}
    special |= {loc.name[:-1] for loc in statics if loc.name.endswith("/") and len(loc.name) > 1}
    special |= {loc.name[:-1] for loc in every_loc if loc.modifier == "=" and loc.name.endswith("/")
                and len(loc.name) > 1}
    for path in sorted(special):
        lines.append(Line("exact", path, pick(server_locations, path)))
    reachable = [loc for loc in statics if not _shadowed(loc, level_of)]
    unreachable = [loc for loc in statics if _shadowed(loc, level_of)]
    early, late = [], []
    for loc in reachable:
        tried = _regexes_tried(loc, level_of)
        if not any_regex:
            late.append(loc)
        elif not tried:
            early.append(loc)
        elif [t for t in tried if id(t) not in nested_ids] == top:
            late.append(loc)
        else:
            problems.append((loc, f"nginx tries only some of the regex locations on the paths of `{loc.label}`; "
                                  "edgec tries a regex on every path, so the choice cannot be laid out the same"))
    for loc in sorted(early, key=lambda loc: -len(loc.name)):
        value = owned(loc.name, _wins_over(loc, level_of))
        if value is not None:
            lines.append(Line("regex", value, Pick(loc)))
    for block in sorted(nested_blocks, key=lambda b: -len(list(b.chain()))):
        lines += [Line("regex", regex_of(c), Pick(c)) for c in block.children if c.is_regex]
    lines += [Line("regex", regex_of(loc), Pick(loc)) for loc in top]
    names = {loc.name for loc in late}
    for loc in sorted(late, key=lambda loc: -len(loc.name)):
        if loc.name.endswith("/"):
            continue
        value = owned(loc.name, _wins_over(loc, level_of), past_boundary=True)
        if value is not None:
            lines.append(Line("regex", value, Pick(loc)))
    for loc in sorted(late, key=lambda loc: -len(loc.name)):
        if loc.name + "/" not in names:  # else every path past "/" is that location's
            lines.append(Line("prefix", loc.name, Pick(loc)))
    return Plan(lines, problems, unreachable)


def _nested_problem(block: Location, statics: list[Location]) -> str | None:
    sub = set(map(id, every([block])))
    if any(id(s) not in sub and s.name.startswith(block.name) and s is not block for s in statics):
        return (f"a regex location nested in `{block.label}` while another prefix location outside it takes some "
                "of its paths: edgec cannot limit the regex to the paths nginx tries it on")
    if any(s.modifier == "^~" and id(s) in sub and s is not block for s in statics):
        return f"a regex location nested in `{block.label}`, which holds a `^~` location nginx skips it for"
    for c in block.children:
        if c.is_regex and block.name != "/" and not _anchored_within(c, block.name):
            return (f"a regex location nested in `{block.label}` that does not start with `^{block.name}`: "
                    "edgec cannot limit it to the paths under the prefix")
    return None


def _anchored_within(loc: Location, prefix: str) -> bool:
    if loc.modifier == "~*" or not loc.name.startswith("^") or _top_level_bar(loc.name):
        return False
    src = loc.name[1:]
    return src.startswith(literal(prefix)) or src.startswith(prefix) and not (_META & set(prefix))
