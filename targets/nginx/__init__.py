"""NGINX open source: a complete nginx.conf (plus secret files) runnable with
`nginx -p <output dir> -c nginx.conf`, unprivileged."""
from __future__ import annotations

from edgec import ir
from edgec.targets import BuildContext, Target

from .capabilities import CAPABILITIES, STICKY_OSS, WITHOUT_NJS
from .capabilities import native
from .conf import TooLong
from .javascript import MODULE, PACKAGE, needed
from .emit import LAYOUTS, Emitter, version_tuple
from .problems import problems

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
        "njs": ("auto", "load the JavaScript module (njs, Debian package libnginx-mod-http-js) for JWT validation "
                        "and claim rate limits: 'on', 'off' (those features are errors) or 'auto' (when the file "
                        "needs it)"),
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
        if self.option(ctx, "njs") not in ("on", "off", "auto"):
            ctx.sink.error("E403", f"njs '{self.option(ctx, 'njs')}' is not on, off or auto", None,
                           hint="use -O njs=auto (the default), -O njs=on or -O njs=off")
            return
        table = dict(CAPABILITIES)
        if version >= STICKY_OSS:
            table["upstream.sticky_cookie"] = native("sticky cookie (OSS 1.29.6+)")
        if self.option(ctx, "njs") == "off":
            table.update(WITHOUT_NJS)
        self.capabilities = table
        super().check(ctx)
        for span, message, hint, severity in problems(ctx.edge):
            if severity == "error":
                ctx.unsupported(message, span, hint)
            else:
                ctx.approximates(message, span, hint)
        if not ctx.sink.has_errors:
            self._secrets(ctx)

    def _secrets(self, ctx: BuildContext):
        """API keys, htpasswd contents and JWT HMAC keys, read now; problems are reported to
        the sink."""
        keys: dict[str, list[str]] = {}
        htpasswd: dict[str, str] = {}
        files: dict[str, str] = {}
        hmac: dict[str, str] = {}
        for auth in ctx.edge.auth:
            if isinstance(auth, ir.JwtAuth) and auth.secret:
                hmac[auth.name] = _resolve(ctx, auth.secret, auth) or ""
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
        return keys, htpasswd, files, hmac

    def emit(self, ctx: BuildContext) -> dict[str, str]:
        keys, htpasswd, secret_files, hmac = self._secrets(ctx)
        layout = self.option(ctx, "layout")
        emitter = Emitter(ctx.edge, version_tuple(self.option(ctx, "nginx_version")),  # type: ignore[arg-type]
                          layout, self.option(ctx, "resolver") or None, keys, htpasswd, hmac,
                          njs=self.option(ctx, "njs") == "on" or needed(ctx.edge))
        try:
            files = emitter.emit()
        except TooLong as err:
            # the check reads the source's strings; a token the emitter composes from many
            # (a per-request choice over many routes) is only known printed
            ctx.unsupported(str(err), None, "an nginx.conf nginx cannot read is never written: shorten the "
                                            "source's longest values, or report the file as a defect of edgec")
            return {}
        files.update(secret_files)
        if layout == "prefix":
            files["logs/.keep"] = ""
        return dict(sorted(files.items()))

    def private_files(self, files: dict[str, str]) -> frozenset[str]:
        return frozenset(p for p in files if p.startswith("secrets/"))

    def notes(self, files: dict[str, str]) -> list[str]:
        if "load_module" not in files.get("nginx.conf", ""):
            return []
        return [f"nginx.conf loads the JavaScript module: load_module {MODULE}; (Debian package {PACKAGE}, "
                "nginx.org package nginx-module-njs)"]


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


TARGET = NginxTarget
