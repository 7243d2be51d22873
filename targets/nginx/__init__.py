"""NGINX open source: a complete nginx.conf (plus secret files) runnable with
`nginx -p <output dir> -c nginx.conf`, unprivileged."""
from __future__ import annotations

import re

from edgec import ir
from edgec.targets import BuildContext, Target

from .capabilities import CAPABILITIES, STICKY_OSS
from .capabilities import native
from .emit import LAYOUTS, RETRYABLE_STATUSES, Emitter, version_tuple

_VAR_NAME = re.compile(r"[A-Za-z0-9_-]+")
_PATH_CHARS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
FLOOR = (1, 22, 0)


class NginxTarget(Target):
    name = "nginx"
    description = "NGINX open source (1.22 or later): nginx.conf for `nginx -p DIR -c nginx.conf`"
    capabilities = CAPABILITIES
    options = {
        "nginx_version": ("1.22", "lowest nginx version the config must run on; newer versions unlock "
                                  "http2 on (1.25.1), upstream resolve (1.27.3), sticky (1.29.6)"),
        "layout": ("prefix", "where pid, logs, temp files and cache live: 'prefix' (relative to nginx -p, "
                             "works unprivileged) or 'debian' (/run, /var/log/nginx, /var/lib/nginx, /var/cache/nginx)"),
        "resolver": ("", "DNS server for upstream host names re-resolved at run time (nginx 1.27.3+), "
                         "e.g. 127.0.0.53; empty: names are resolved when nginx starts"),
    }

    def check(self, ctx: BuildContext) -> None:
        version = version_tuple(self.option(ctx, "nginx_version"))
        if version is None or version < FLOOR:
            ctx.sink.error("E403", f"nginx_version '{self.option(ctx, 'nginx_version')}' is not a version "
                                   "1.22 or later", None, hint="write it like -O nginx_version=1.24")
            return
        if self.option(ctx, "layout") not in LAYOUTS:
            ctx.sink.error("E403", f"layout '{self.option(ctx, 'layout')}' is unknown", None,
                           hint="use -O layout=prefix or -O layout=debian")
            return
        if version >= STICKY_OSS:
            self.capabilities = {**CAPABILITIES, "upstream.sticky_cookie": native("sticky cookie (OSS 1.29.6+)")}
        super().check(ctx)
        for span, message, hint, severity in _problems(ctx.edge):
            if severity == "error":
                ctx.unsupported(message, span, hint)
            else:
                ctx.approximates(message, span, hint)
        if not ctx.sink.has_errors:
            self._secrets(ctx)

    def _secrets(self, ctx: BuildContext) -> tuple[dict[str, list[str]], dict[str, str], dict[str, str]]:
        """API keys and htpasswd contents, read now; problems are reported to the sink."""
        keys: dict[str, list[str]] = {}
        htpasswd: dict[str, str] = {}
        files: dict[str, str] = {}
        for auth in ctx.edge.auth:
            if isinstance(auth, ir.ApiKeyAuth):
                found = []
                for secret in auth.keys:
                    value = _resolve(ctx, secret, auth)
                    if value is not None:
                        found.append(value)
                if auth.keys_file:
                    try:
                        with open(auth.keys_file, encoding="utf-8") as f:
                            found += [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]
                    except OSError as err:
                        ctx.sink.error("E404", f"cannot read the keys file of auth '{auth.name}' ({auth.keys_file}): "
                                               f"{err.strerror}", auth.span,
                                       hint="nginx needs the keys at build time: make the file readable where "
                                            "edgec build runs")
                keys[auth.name] = found
            elif isinstance(auth, ir.BasicAuth):
                if isinstance(auth.htpasswd, ir.Secret):
                    value = _resolve(ctx, auth.htpasswd, auth)
                    path = f"secrets/{auth.name}.htpasswd"
                    files[path] = (value or "").rstrip("\n") + "\n"
                    htpasswd[auth.name] = path
                else:
                    htpasswd[auth.name] = auth.htpasswd
        return keys, htpasswd, files

    def emit(self, ctx: BuildContext) -> dict[str, str]:
        keys, htpasswd, secret_files = self._secrets(ctx)
        layout = self.option(ctx, "layout")
        emitter = Emitter(ctx.edge, version_tuple(self.option(ctx, "nginx_version")),  # type: ignore[arg-type]
                          layout, self.option(ctx, "resolver") or None, keys, htpasswd)
        files = emitter.emit()
        files.update(secret_files)
        if layout == "prefix":
            files["logs/.keep"] = ""
        return dict(sorted(files.items()))

    def private_files(self, files: dict[str, str]) -> frozenset[str]:
        return frozenset(p for p in files if p.startswith("secrets/"))


def _resolve(ctx: BuildContext, secret: ir.Secret, auth) -> str | None:
    try:
        if ctx.resolve_secret is None:
            raise KeyError(secret.secret)
        return ctx.resolve_secret(secret)
    except KeyError:
        ctx.sink.error("E404", f"secret '{secret.secret}' of auth '{auth.name}' is not set", auth.span,
                       hint=f"export {secret.secret}=… or put it in a file named {secret.secret} in --secrets-dir "
                            "(nginx reads credentials from files written at build time)")
        return None


def _problems(edge: ir.Edge):
    """Values nginx cannot carry, beyond the feature table: (span, message, hint, severity)."""
    def var_name(name: str, what: str, span):
        if not _VAR_NAME.fullmatch(name):
            yield (span, f"{what} '{name}': nginx reads it through a variable, whose name allows only "
                         "letters, digits, '-' and '_'", "rename it", "error")

    def no_dollar(path: str, what: str, span):
        if "$" in path:
            yield (span, f"{what} '{path}': nginx reads '$' in a file path as a variable", "rename the file", "error")

    lower_names: dict[str, str] = {}
    for up in edge.upstreams:
        if up.name.lower() in lower_names:
            yield (up.span, f"upstreams '{lower_names[up.name.lower()]}' and '{up.name}': nginx upstream names "
                            "ignore case", "rename one of them", "error")
        lower_names[up.name.lower()] = up.name
        backup = any(s.backup for s in up.servers)
        if backup and (up.balance in ("hash", "ip_hash", "random") or up.sticky):
            yield (up.span, f"backup servers with {'sticky' if up.sticky else up.balance} balancing in upstream "
                            f"'{up.name}': nginx refuses the combination", "drop `backup` or use round_robin / "
                            "least_conn", "error")
        if up.hash_key and up.hash_key.name:
            yield from var_name(up.hash_key.name, f"hash {up.hash_key.source} name", up.span)
        if up.sticky:
            yield from var_name(up.sticky.cookie, "sticky cookie", up.span)
    for lst in edge.listeners:
        if lst.tls:
            yield from no_dollar(lst.tls.cert, "certificate path", lst.span)
            yield from no_dollar(lst.tls.key, "key path", lst.span)
    log = edge.observability.access_log
    if log.format != "off":
        yield from no_dollar(log.path, "access log path", None)
    for auth in edge.auth:
        if isinstance(auth, ir.ApiKeyAuth):
            yield from var_name(auth.header, "API key header", auth.span)
        if isinstance(auth, ir.BasicAuth) and isinstance(auth.htpasswd, str):
            yield from no_dollar(auth.htpasswd, "htpasswd path", auth.span)
    for route in edge.routes:
        where = f"route '{route.name}'"
        for m in route.matches:
            for h in m.headers:
                yield from var_name(h.name, f"header condition in {where}", m.span or route.span)
                empty_ok = h.value == "" if h.type == "exact" else \
                    h.type == "regex" and re.fullmatch(h.value or "", "") is not None
                if empty_ok:
                    yield (m.span or route.span, f"a header condition on '{h.name}' that accepts an empty value in "
                                                 f"{where}: nginx cannot tell an empty header from a missing one",
                           None, "warning")
        for name, _ in route.request_headers.add:
            yield from var_name(name, f"request header to append to in {where}", route.span)
        if route.rate_limit and route.rate_limit.key.source == "header":
            yield from var_name(route.rate_limit.key.name or "", f"rate limit header in {where}", route.span)
        if route.rate_limit and route.rate_limit.count % route.rate_limit.window_s and \
                (route.rate_limit.count * 60) % route.rate_limit.window_s:
            yield (route.span, f"the rate {route.rate_limit.count}/{route.rate_limit.window_s}s in {where}: nginx "
                               "rates are whole requests per second or per minute; rounded", None, "warning")
        if route.cache:
            for v in route.cache.vary:
                yield from var_name(v, f"vary header in {where}", route.span)
            if not {"GET", "HEAD"} <= set(route.cache.methods):
                yield (route.span, f"cache methods in {where}: nginx always caches GET and HEAD", None, "warning")
        auth = next((a for a in edge.auth if a.name == route.auth), None)
        if route.rate_limit and isinstance(auth, ir.BasicAuth):
            yield (route.span, f"basic auth with a rate limit in {where}: nginx counts requests against the limit "
                               "before it checks credentials (429 comes before 401)", None, "warning")
        own = {n.lower() for n, _ in route.response_headers.set} | {n.lower() for n in route.response_headers.remove}
        for name in sorted(own & {"server", "date"}):
            yield (route.span, f"changing the {name.title()} response header in {where}: nginx always sends its "
                               f"own", None, "warning")
        paths = []
        if route.rewrite.path and route.rewrite.path.type == "full":
            paths.append(route.rewrite.path.replacement)
        if route.rewrite.path and route.rewrite.path.type == "prefix":
            paths.append(route.rewrite.path.replacement)
        for p in paths:
            if not _PATH_CHARS.fullmatch(p):
                yield (route.span, f"the rewritten path '{p}' in {where}: nginx splits '?' off as the query, "
                                   "re-encodes '%' and sends other characters unencoded",
                       "use only letters, digits and -._~!$&'()*+,;=:@/", "error")
        action = route.action
        if isinstance(action, ir.Respond) and 300 <= action.status < 400:
            yield (route.span, f"a fixed {action.status} response in {where}: nginx's return reads the text of a "
                               "3xx as the Location", "use `redirect` for redirects", "error")
        if route.retry.attempts:
            other = [s for s in route.retry.statuses if s not in RETRYABLE_STATUSES]
            if other:
                yield (route.span, f"retries on {', '.join(map(str, other))} in {where}: nginx retries only on "
                                   + ", ".join(map(str, RETRYABLE_STATUSES)), None, "warning")
        if isinstance(action, ir.Forward):
            weights = [b for b in action.backends if b.weight > 0]
            if len(weights) > 1:
                timeouts = {edge.upstream(b.upstream).timeouts for b in weights
                            if any(u.name == b.upstream for u in edge.upstreams)}
                if len(timeouts) > 1:
                    yield (route.span, f"per-upstream timeouts in {where}: one location holds the split, so the "
                                       "longest of the upstreams' timeouts applies", None, "warning")


TARGET = NginxTarget
