"""`edgec import ingress FILE.yaml...`: networking.k8s.io/v1 Ingress objects, as ingress-nginx serves
them, as one .edge file.

ingress-nginx's routing, as its documentation states it (docs/user-guide/ingress-path-matching.md,
docs/user-guide/nginx-configuration/annotations.md), is held in `pick` below, which the import's check
and --verify compare edgec's `decide` with:

    host      a rule's host (exact, then `*.` wildcard) else the rules without a host; a host that
              has rules answers its paths only, else the default backend (404 without one)
    paths     Exact, then the longest Prefix (element by element, "/foo" never "/foobar");
              on a host where any Ingress uses use-regex or rewrite-target, every path is a
              case-insensitive regex anchored at the start (`~* ^path`), tried longest path first
    canary    a canary Ingress on the same host and path takes requests by header, then weight

Every annotation is translated, or a warning (W503), or refuses the file (E502: a snippet, a
rewrite with capture groups edgec cannot express); each at the object and annotation's line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from ..diagnostics import Diagnostic, Span, diagnostic
from ..ir import REQUEST_ID_HEADER
from ..regexes import problem as regex_problem
from .edgetext import Block, name as make_name, render, string
from .result import Imported, Refused

PREFIX = "nginx.ingress.kubernetes.io/"
_ANY = r"[\s\S]*"
# the annotations this module reads; any other one is said (W503)
KNOWN = {"rewrite-target", "use-regex", "ssl-redirect", "force-ssl-redirect", "limit-rps", "limit-rpm",
         "limit-connections", "limit-burst-multiplier", "auth-type", "auth-secret", "auth-realm", "auth-url",
         "auth-response-headers", "enable-cors", "cors-allow-origin", "cors-allow-methods", "cors-allow-headers",
         "cors-expose-headers", "cors-allow-credentials", "cors-max-age", "proxy-connect-timeout",
         "proxy-read-timeout", "proxy-send-timeout", "upstream-hash-by", "affinity", "session-cookie-name",
         "session-cookie-max-age", "canary", "canary-weight", "canary-by-header", "canary-by-header-value",
         "canary-by-cookie", "whitelist-source-range", "allowlist-source-range", "denylist-source-range",
         "configuration-snippet", "server-snippet", "auth-snippet"}


@dataclass
class Path_:
    """One path of one rule: what ingress-nginx routes on, and where it came from."""
    host: str | None
    kind: str  # Exact | Prefix | ImplementationSpecific
    path: str
    upstream: str
    ingress: "Ingress"
    line: int
    canary: list = field(default_factory=list)  # (Ingress, upstream) of canary Ingresses on it


@dataclass
class Ingress:
    name: str
    file: str
    line: int
    annotations: dict[str, tuple[str, int]]  # short name → (value, line)

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.annotations[key][0] if key in self.annotations else default

    def number(self, key: str, default: str | None = None) -> int:
        """A whole-number annotation; a value that is not one refuses the file at its line."""
        value = self.get(key, default)
        if value is None or not value.strip().isdigit():
            line = self.annotations[key][1] if key in self.annotations else self.line
            raise Malformed(self, line, f"annotation {PREFIX}{key} is {value!r}, not a whole number")
        return int(value)


class Malformed(Exception):
    """The Ingress is not shaped as networking.k8s.io/v1 says, or an annotation's value is not one it takes."""

    def __init__(self, ing: "Ingress | None", line: int, message: str):
        super().__init__(message)
        self.ing, self.line, self.message = ing, line, message


def _mapping(value, ing: Ingress, line: int, what: str):
    if isinstance(value, dict):
        return value
    raise Malformed(ing, line, f"{what} of Ingress {ing.name} is not a mapping")


def _sequence(value, ing: Ingress, what: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(ing, ing.line, f"{what} of Ingress {ing.name} is not a list")
    return value


class _Importer:
    def __init__(self, files: list[str], edge_name: str):
        self.files = files
        self.edge_name = edge_name
        self.diags: list[Diagnostic] = []
        self.sources: dict[str, str] = {}
        self.names: set[str] = set()
        self.upstreams: dict[str, Block] = {}
        self.auth_blocks: list[Block] = []
        self.auth_names: dict[tuple, str] = {}
        self.default: tuple[str, Ingress] | None = None
        self.tls: list[tuple[list[str], str, Ingress, int]] = []

    def say(self, code: str, ing: Ingress | None, line: int, message: str, hint: str | None = None,
            file: str | None = None) -> None:
        self.diags.append(diagnostic(code, message, file or ing.file, Span.point(line, 1), hint))

    def refuse(self, ing: Ingress | None, line: int, message: str, hint: str | None = None, file: str | None = None):
        self.say("E502", ing, line, message, hint, file)
        raise Refused(message)

    # -- reading ---------------------------------------------------------------------------
    def read(self) -> list[tuple[Ingress, dict]]:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError
        out = []
        for file in self.files:
            try:
                text = Path(file).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as err:
                self.diags.append(diagnostic("E501", f"cannot read the file: {err}", file, Span(1, 1, 1, 2)))
                raise Refused(file) from None
            self.sources[file] = text
            try:
                docs = [d for d in YAML(typ="rt").load_all(text) if d is not None]
            except YAMLError as err:
                mark = getattr(err, "problem_mark", None)
                self.diags.append(diagnostic("E501", f"not YAML: {getattr(err, 'problem', err)}", file,
                                             Span.point(mark.line + 1, mark.column + 1) if mark else None))
                raise Refused(file) from None
            for doc in docs:
                if not hasattr(doc, "get") or doc.get("kind") != "Ingress":
                    kind = doc.get("kind") if hasattr(doc, "get") else type(doc).__name__
                    self.say("W503", None, doc.lc.line + 1 if hasattr(doc, "lc") else 1,
                             f"a {kind} is not an Ingress: left out", file=file)
                    continue
                meta = doc.get("metadata") or {}
                notes = (meta.get("annotations") or {}) if hasattr(meta, "get") else None
                if not hasattr(meta, "lc") or not hasattr(notes, "lc") and notes != {}:
                    raise Malformed(None, doc.lc.line + 1, "metadata and its annotations must be mappings")
                ann = {}
                for key, value in notes.items():
                    line = notes.lc.key(key)[0] + 1
                    if key.startswith(PREFIX):
                        ann[key[len(PREFIX):]] = (str(value), line)
                    elif key != "kubernetes.io/ingress.class":
                        self.say("W503", None, line, f"annotation {key} is not carried over", file=file)
                ing = Ingress(str(meta.get("name", "ingress")), file, doc.lc.line + 1, ann)
                if doc.get("apiVersion") != "networking.k8s.io/v1":
                    self.refuse(ing, ing.line, f"Ingress {ing.name} is {doc.get('apiVersion')}: only "
                                "networking.k8s.io/v1 is read", "convert it with kubectl convert")
                out.append((ing, doc))
        return out

    # -- translating -----------------------------------------------------------------------
    def run(self) -> tuple[str, list[Path_]]:
        objects = self.read()
        if not objects:
            self.refuse(None, 1, "no Ingress in the files", file=self.files[0])
        paths: list[Path_] = []
        canaries: list[tuple[Ingress, dict]] = []
        for ing, doc in objects:
            spec = _mapping(doc.get("spec") or {}, ing, ing.line, "spec")
            cls = spec.get("ingressClassName") or (doc["metadata"].get("annotations") or {}).get(
                "kubernetes.io/ingress.class")
            if cls not in (None, "nginx"):
                self.say("W503", ing, ing.line, f"Ingress {ing.name} is for ingress class {cls}; it is imported as "
                         "ingress-nginx would serve it")
            for key, (value, line) in ing.annotations.items():
                if key.endswith("snippet"):
                    self.refuse(ing, line, f"annotation {key}: raw nginx configuration, which edgec cannot read",
                                "write what the snippet does as edgec statements")
                if key not in KNOWN:
                    self.say("W503", ing, line, f"annotation {PREFIX}{key} is not carried over")
            if ing.get("canary") == "true":
                canaries.append((ing, doc))
                continue
            if spec.get("defaultBackend"):
                self.default = (self.backend(ing, spec["defaultBackend"], spec.lc.key("defaultBackend")[0] + 1), ing)
            for tls in _sequence(spec.get("tls"), ing, "spec.tls"):
                tls = _mapping(tls, ing, ing.line, "a tls entry")
                self.tls.append((list(tls.get("hosts") or []), str(tls.get("secretName", "")), ing,
                                 tls.lc.line + 1))
            paths += self.rule_paths(ing, spec)
        for ing, doc in canaries:
            self.canary(ing, doc.get("spec") or {}, paths)
        text = self.write(paths)
        return text, paths

    def rule_paths(self, ing: Ingress, spec) -> list[Path_]:
        out = []
        for rule in _sequence(spec.get("rules"), ing, "spec.rules"):
            rule = _mapping(rule, ing, ing.line, "a rule")
            host = rule.get("host")
            if host is not None and not isinstance(host, str):
                raise Malformed(ing, ing.line, f"host {host!r} is not a string")
            for p in _sequence(_mapping(rule.get("http") or {}, ing, ing.line, "http").get("paths"), ing, "paths"):
                p = _mapping(p, ing, ing.line, "a path")
                kind = p.get("pathType", "ImplementationSpecific")
                path = str(p.get("path", "/"))
                line = p.lc.line + 1
                if kind not in ("Exact", "Prefix", "ImplementationSpecific"):
                    self.refuse(ing, line, f"pathType {kind} is not one of Exact, Prefix, ImplementationSpecific")
                up = self.backend(ing, p.get("backend") or {}, line)
                out.append(Path_(host, kind, path, up, ing, line))
        return out

    def backend(self, ing: Ingress, backend, line: int) -> str:
        svc = _mapping(backend, ing, line, "backend").get("service")
        if not svc:
            self.refuse(ing, line, "a backend that is not a Service (a resource backend)")
        svc = _mapping(svc, ing, line, "backend.service")
        port = _mapping(svc.get("port") or {}, ing, line, "backend.service.port")
        number = port.get("number")
        if number is None:
            self.say("W503", ing, line, f"service port {port.get('name')} is named: port 80 is written",
                     "give the port's number")
            number = 80
        key = f"{svc['name']}:{number}"
        if key not in self.upstreams:
            name = make_name(f"{svc['name']}-{number}", self.names, "upstream")
            self.upstreams[key] = Block(f"upstream {name}", [f"server {string(key)}"],
                                        comment=f"Service {svc['name']} port {number} (Ingress {ing.name})")
        return self.upstreams[key].head.split()[1]

    def canary(self, ing: Ingress, spec, paths: list[Path_]) -> None:
        for cp in self.rule_paths(ing, spec):
            main = next((p for p in paths if (p.host, p.path) == (cp.host, cp.path)), None)
            if main is None:
                self.refuse(ing, cp.line, f"canary Ingress {ing.name} has no main Ingress for {cp.host or '*'}"
                            f"{cp.path}", "ingress-nginx ignores such a canary: remove it")
            if ing.get("canary-by-cookie"):
                self.refuse(ing, ing.annotations["canary-by-cookie"][1], "canary-by-cookie: edgec matches no "
                            "cookies", "use canary-by-header")
            main.canary.append((ing, cp.upstream))

    # -- writing ---------------------------------------------------------------------------
    def regex_host(self, paths: list[Path_], host: str | None) -> bool:
        return any(p.host == host and (p.ingress.get("use-regex") == "true" or p.ingress.get("rewrite-target"))
                   for p in paths)

    def write(self, paths: list[Path_]) -> str:
        edge = Block(f"edge {string(self.edge_name)}")
        edge.items += self.listeners(paths) + [""]
        routes: list[tuple[tuple, Block]] = []
        for index, p in enumerate(paths):
            for blk in self.routes_of(p, paths):
                routes.append(((-len(p.path), index), blk))
        hosts = sorted({p.host for p in paths if p.host}, key=str)
        for host in hosts:
            if not any(p.host == host and p.path == "/" and p.kind != "Exact" for p in paths):
                blk = Block(f"route {make_name(host.replace('*.', 'any.') + '-default', self.names, 'route')}",
                            comment=f"ingress-nginx: a path of {host} that no rule takes goes to the default "
                                    "backend, never to the rules without a host")
                blk.add(f"match host {string(host)} path prefix \"/\"")
                blk.add(f"forward {self.default[0]}" if self.default else "respond 404")
                routes.append(((1, 0), blk))
        if self.default:
            blk = Block(f"route {make_name('default-backend', self.names, 'route')}",
                        comment=f"spec.defaultBackend of Ingress {self.default[1].name}")
            blk.add(f"forward {self.default[0]}")
            routes.append(((2, 0), blk))
        for blk in self.upstreams.values():
            edge.items += [blk, ""]
        for blk in self.auth_blocks:
            edge.items += [blk, ""]
        for _, blk in sorted(routes, key=lambda r: r[0]):
            edge.items += [blk, ""]
        edge.items.pop()
        top = [f"Imported from {', '.join(Path(f).name for f in self.files)} by `edgec import ingress`, as",
               "ingress-nginx serves it. Comments say where each statement came from."]
        return render(top, edge, self.edge_name + ".edge")

    def listeners(self, paths: list[Path_]) -> list:
        if not self.tls:
            return ["listen http 80"]
        secrets = {t[1] for t in self.tls}
        if len(secrets) > 1:
            t = self.tls[1]
            self.refuse(t[2], t[3], "several TLS secrets: edgec has one certificate per listener")
        hosts, secret, ing, line = self.tls[0]
        self.say("W503", ing, line, f"the certificate is in Secret {secret}: the .edge file names "
                 f"/etc/edge/tls/{secret}.crt and .key", "export the secret's tls.crt and tls.key to those files")
        redirect = all(p.ingress.get("ssl-redirect", "true") != "false" for p in paths)
        tls_hosts = {h for t in self.tls for h in t[0]}
        if redirect and not all(p.host in tls_hosts for p in paths):
            redirect = False
        https = Block("listen https 443", [f"tls cert {string(f'/etc/edge/tls/{secret}.crt')} "
                                           f"key {string(f'/etc/edge/tls/{secret}.key')}"])
        if redirect:
            self.say("W503", ing, line, "ingress-nginx redirects HTTP to HTTPS with 308; edgec's listener with 301")
            return [Block("listen http 80", ["redirect https"]), https]
        return ["listen http 80", https]

    def routes_of(self, p: Path_, paths: list[Path_]) -> list[Block]:
        ing = p.ingress
        base = make_name(f"{ing.name}-{p.path.strip('/') or 'root'}", self.names, "route")
        host = f"host {string(p.host)} " if p.host else ""
        out = []
        header = next((c for c in p.canary if c[0].get("canary-by-header")), None)
        if header is not None:
            cing, cup = header
            name, value = cing.get("canary-by-header"), cing.get("canary-by-header-value", "always")
            blk = Block(f"route {make_name(base + '-canary', self.names, 'route')}",
                        comment=f"canary Ingress {cing.name}: requests with {name}: {value}")
            blk.add(f"match {host}{self.path_condition(p, paths)} header {string(name)} = {string(value)}")
            self.policies(blk, p)
            blk.add(f"forward {cup}")
            out.append(blk)
            if "canary-by-header-value" not in cing.annotations:
                self.say("W503", cing, cing.annotations["canary-by-header"][1], "a header value of `never` keeps "
                         "requests off the canary in ingress-nginx; edgec sends them by weight",
                         "set canary-by-header-value")
        note = ("\nas ingress-nginx does on this host (use-regex or rewrite-target): a case-insensitive regex, "
                "routes tried longest path first" if p.kind != "Exact" and self.regex_host(paths, p.host) else "")
        blk = Block(f"route {base}", comment=f"Ingress {ing.name}: {p.host or '(any host)'} {p.path} ({p.kind}, "
                                                f"{Path(ing.file).name}:{p.line}){note}")
        blk.add(f"match {host}{self.path_condition(p, paths)}")
        self.policies(blk, p)
        weighted = [(c[0], c[1]) for c in p.canary if c[0].get("canary-weight")]
        if weighted:
            cing, cup = weighted[0]
            w = cing.number("canary-weight", "0")
            total = cing.number("canary-weight-total", "100")
            blk.add(f"forward {p.upstream} {total - w}, {cup} {w}", f"canary Ingress {cing.name}: {w} of {total}")
        else:
            blk.add(f"forward {p.upstream}")
        out.append(blk)
        return out

    def path_condition(self, p: Path_, paths: list[Path_]) -> str:
        if p.kind == "Exact":
            return f"path exact {string(p.path)}"
        target = p.ingress.get("rewrite-target")
        if not self.regex_host(paths, p.host):
            if p.kind == "ImplementationSpecific":
                self.say("W503", p.ingress, p.line, f"pathType ImplementationSpecific {p.path}: ingress-nginx "
                         f"matches it as an nginx prefix (also {p.path.rstrip('/')}x...), edgec element by element",
                         "use pathType Prefix")
            return f"path prefix {string(p.path)}"
        m = re.fullmatch(r"(/[A-Za-z0-9._~/-]*?)\(/\|\$\)\(\.\*\)", p.path)
        if target is not None:
            if not m or target.rstrip("/") + "/$2" not in (target + "/$2", "/$2") and not target.endswith("$2"):
                self.refuse(p.ingress, p.ingress.annotations["rewrite-target"][1],
                            f"rewrite-target {target} with path {p.path}: edgec rewrites a prefix, written "
                            "`path: /PREFIX(/|$)(.*)` with `rewrite-target: /NEW/$2`",
                            "write the path and target in that form")
            return f"path prefix {string(m.group(1))}"
        problem = regex_problem(p.path)
        if problem:
            self.refuse(p.ingress, p.line, f"path {p.path} is a regex edgec cannot read the same way in every "
                        f"target: {problem[0]}")
        return f"path regex {string('(?i)' + p.path + _ANY)}"

    def policies(self, blk: Block, p: Path_) -> None:
        ing = p.ingress
        target = ing.get("rewrite-target")
        if target is not None and p.kind != "Exact":
            m = re.fullmatch(r"(/[A-Za-z0-9._~/-]*?)\(/\|\$\)\(\.\*\)", p.path)
            new = target[:-2] if target.endswith("$2") else target
            if m and new in ("/", ""):
                blk.add(f"strip_prefix {string(m.group(1))}", f"rewrite-target {target}")
            elif m:
                blk.add(f"rewrite prefix {string(m.group(1))} {string(new.rstrip('/'))}", f"rewrite-target {target}")
            self.say("W503", ing, ing.annotations["rewrite-target"][1], f"ingress-nginx matches {p.path} "
                     "ignoring case; edgec's prefix is case-sensitive")
        for key, unit in (("limit-rps", "s"), ("limit-rpm", "min")):
            if ing.get(key):
                n = ing.number(key)
                burst = n * ing.number("limit-burst-multiplier", "5")
                blk.add(f"rate_limit {n}/{unit} burst {burst}", f"{key} {n} (burst: {ing.get('limit-burst-multiplier', '5')}x)")
                self.say("W503", ing, ing.annotations[key][1], "ingress-nginx answers 503 above the rate "
                         "(limit-req-status-code); edgec answers 429")
        if ing.get("limit-connections"):
            self.say("W503", ing, ing.annotations["limit-connections"][1],
                     "limit-connections: edgec limits requests, not connections")
        if ing.get("auth-type") == "basic":
            secret = ing.get("auth-secret", "")
            key = ("basic", secret, ing.get("auth-realm", ""))
            if key not in self.auth_names:
                self.auth_names[key] = make_name(f"basic-{secret.split('/')[-1]}", self.names, "basic")
                env = re.sub(r"[^A-Za-z0-9]+", "_", secret.split("/")[-1]).upper() or "HTPASSWD"
                body = [f"htpasswd ${{secret:{env}}}"]
                if ing.get("auth-realm"):
                    body.append(f"realm {string(ing.get('auth-realm'))}")
                self.auth_blocks.append(Block(f"auth basic {self.auth_names[key]}", body,
                                              comment=f"auth-secret {secret}: its `auth` key, given as {env}"))
            blk.add(f"auth {self.auth_names[key]}")
        elif ing.get("auth-url"):
            url = ing.get("auth-url")
            key = ("external", url)
            if key not in self.auth_names:
                self.auth_names[key] = make_name("external", self.names, "external")
                body = [f"url {string(url)}"]
                copy = [h.strip() for h in (ing.get("auth-response-headers") or "").split(",") if h.strip()]
                if any(h.lower() == REQUEST_ID_HEADER.lower() for h in copy):
                    copy = [h for h in copy if h.lower() != REQUEST_ID_HEADER.lower()]
                    self.say("W503", ing, ing.annotations["auth-response-headers"][1],
                             f"{REQUEST_ID_HEADER} in auth-response-headers is not carried over: the edge owns the "
                             "request id, and the auth service's answer cannot replace it")
                if copy:
                    body.append("copy_headers " + " ".join(string(h) for h in copy))
                self.auth_blocks.append(Block(f"auth external {self.auth_names[key]}", body,
                                              comment=f"auth-url of Ingress {ing.name}"))
                self.say("W503", ing, ing.annotations["auth-url"][1], "ingress-nginx calls auth-url as written, "
                         "with the request's URI in X-Original-URI; edgec appends the request's path to the url")
            blk.add(f"auth {self.auth_names[key]}")
        if ing.get("enable-cors") == "true":
            cors = Block("cors")
            origin = ing.get("cors-allow-origin", "*")
            cors.add("origins " + " ".join(string(o.strip()) for o in origin.split(",")))
            methods = ing.get("cors-allow-methods", "GET, PUT, POST, DELETE, PATCH, OPTIONS")
            cors.add("methods " + " ".join(m.strip().upper() for m in methods.split(",")))
            headers = ing.get("cors-allow-headers", "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,"
                                                   "Cache-Control,Content-Type,Range,Authorization")
            cors.add("headers " + " ".join(string(h.strip()) for h in headers.split(",")))
            if ing.get("cors-expose-headers"):
                cors.add("expose " + " ".join(string(h.strip()) for h in ing.get("cors-expose-headers").split(",")))
            if ing.get("cors-allow-credentials", "true") == "true":
                cors.add("credentials")
            cors.add(f"max_age {ing.number('cors-max-age', '1728000')}s")
            blk.items.append(cors)
        for key, word in (("whitelist-source-range", "allow"), ("allowlist-source-range", "allow"),
                          ("denylist-source-range", "deny")):
            if ing.get(key):
                blk.add(word + " " + " ".join(string(c.strip()) for c in ing.get(key).split(",")))
        if ing.get("force-ssl-redirect") == "true" and not self.tls:
            self.say("W503", ing, ing.annotations["force-ssl-redirect"][1], "force-ssl-redirect without TLS in the "
                     "Ingress: edgec has no https listener to send requests to")
        self.upstream_settings(p)

    def upstream_settings(self, p: Path_) -> None:
        ing = p.ingress
        blk = next(b for b in self.upstreams.values() if b.head.split()[1] == p.upstream)
        lines = set(blk.items)
        for key, word in (("proxy-connect-timeout", "connect_timeout"), ("proxy-read-timeout", "read_timeout"),
                          ("proxy-send-timeout", "send_timeout")):
            if ing.get(key):
                lines.add(f"{word} {ing.number(key)}s")
        by = ing.get("upstream-hash-by")
        if by:
            kind = {"$request_uri": "uri", "$uri": "uri", "$remote_addr": "client_ip",
                    "$binary_remote_addr": "client_ip"}.get(by)
            if kind is None and by.startswith("$http_"):
                kind = "header " + string(by[6:].replace("_", "-"))
            if kind is None:
                self.say("W503", ing, ing.annotations["upstream-hash-by"][1], f"upstream-hash-by {by} is not "
                         "carried over")
            else:
                lines.add(f"balance hash {kind}")
        if ing.get("affinity") == "cookie":
            age = ing.get("session-cookie-max-age")
            lines.add(f"sticky cookie {string(ing.get('session-cookie-name', 'INGRESSCOOKIE'))}"
                      + (f" ttl {ing.number('session-cookie-max-age')}s" if age else ""))
        for line in sorted(lines - set(blk.items)):
            blk.add(line)


def import_ingress(files: list[str], edge_name: str | None = None) -> Imported:
    imp = _Importer(files, edge_name or Path(files[0]).stem.replace(".", "-") or "imported")
    try:
        text, paths = imp.run()
    except Refused:
        return Imported(None, imp.diags, imp.sources)
    except Malformed as err:
        imp.diags.append(diagnostic("E501", err.message, err.ing.file if err.ing else files[0],
                                    Span.point(err.line, 1), "the object must be a networking.k8s.io/v1 Ingress "
                                    "(kubectl apply --dry-run=server checks it)"))
        return Imported(None, imp.diags, imp.sources)
    return Imported(text, imp.diags, imp.sources, [Served(paths, imp.default[0] if imp.default else None)])


# ---- ingress-nginx's choice, as documented -------------------------------------------------------

@dataclass
class Served:
    paths: list[Path_]
    default: str | None  # the default backend's upstream

    def hosts(self) -> list[str | None]:
        return list(dict.fromkeys(p.host for p in self.paths))


def _element_prefix(prefix: str, path: str) -> bool:
    p = prefix.rstrip("/")
    return path == p or path.startswith(p + "/") or p == ""


def pick(served: Served, host: str, path: str, headers: dict[str, str]) -> dict[str, float] | None:
    """The upstreams ingress-nginx sends the request to, with their shares; None: 404."""
    hosts = {p.host for p in served.paths}
    if host in hosts:
        chosen = host
    else:
        wild = sorted((h for h in hosts if h and h.startswith("*.") and host.endswith(h[1:])), key=len, reverse=True)
        chosen = wild[0] if wild else None
    mine = [p for p in served.paths if p.host == chosen]
    regex = any(p.ingress.get("use-regex") == "true" or p.ingress.get("rewrite-target") for p in mine)
    found = next((p for p in mine if p.kind == "Exact" and p.path == path), None)
    if found is None and regex:
        ordered = sorted((p for p in mine if p.kind != "Exact"), key=lambda p: -len(p.path))
        found = next((p for p in ordered if re.match(p.path, path, re.I)), None)
    elif found is None:
        prefixes = [p for p in mine if p.kind != "Exact" and _element_prefix(p.path, path)]
        found = max(prefixes, key=lambda p: len(p.path.rstrip("/")), default=None)
    if found is None:
        return {served.default: 1.0} if served.default else None
    for cing, cup in found.canary:
        name = cing.get("canary-by-header")
        if name and headers.get(name.lower()) == cing.get("canary-by-header-value", "always"):
            return {cup: 1.0}
    for cing, cup in found.canary:
        if cing.get("canary-weight"):
            w, total = cing.number("canary-weight"), cing.number("canary-weight-total", "100")
            return {k: v for k, v in ((found.upstream, (total - w) / total), (cup, w / total)) if v}
    return {found.upstream: 1.0}
