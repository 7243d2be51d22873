"""`listen` and what its block holds."""
from __future__ import annotations

import ipaddress

from .. import ir
from ..diagnostics import did_you_mean
from ..ir import HEADER_NAME
from . import directive, lower_body


@directive("edge", "listen", opens="listen", features={
    "listener.http": "plain HTTP listener",
    "listener.https": "HTTPS listener with a certificate and key",
}, uses=lambda lst: [f"listener.{lst.protocol}"])
def listen(v, stmt, out):
    protocol = stmt.args["protocol"].value
    port = v.integer(stmt.args["port"], "listener port", default=0, low=1, high=65535)
    fields: dict = {}
    lower_body(v, stmt, "listen", f"listener {protocol}:{port}", fields)
    out.setdefault("listeners", []).append(ir.Listener(protocol, port, span=stmt.span, **fields))


@directive("listen", "http2", args=(), features={"listener.http2": "HTTP/2 on a TLS listener"},
           uses=lambda lst: ["listener.http2"] if lst.http2 else [])
def http2(v, stmt, out):
    out["http2"] = True


@directive("listen", "tls", args=("cert", "key", "min_version"),
           features={"listener.tls_min_version": "minimum TLS version 1.3"},
           uses=lambda lst: ["listener.tls_min_version"] if lst.tls and lst.tls.min_version == "1.3" else [])
def tls(v, stmt, out):
    version = stmt.args["min_version"]
    out["tls"] = ir.Tls(cert=v.string(stmt.args["cert"], "tls cert", default=""),
                        key=v.string(stmt.args["key"], "tls key", default=""),
                        min_version=version.value if version else "1.2")


@directive("listen", "client_cert", args=("ca", "mode", "header"), once="client_cert",
           features={"listener.client_cert": "client certificates (mutual TLS) checked against a CA, the subject "
                                             "passed on in a header"},
           uses=lambda lst: ["listener.client_cert"] if lst.client_cert else [])
def client_cert(v, stmt, out):
    a = stmt.args
    header = v.string(a["header"], "client subject header") if a["header"] is not None else None
    if header is not None and not HEADER_NAME.match(header):
        v.sink.error("E219", f"'{header}' is not a valid header name", a["header"].span,
                     hint="header names are letters, digits and !#$%&'*+-.^_`|~")
    out["client_cert"] = ir.ClientCert(ca=v.string(a["ca"], "client CA file", default=""),
                                       required=a["mode"] is None or a["mode"].value == "required",
                                       header=header)


@directive("listen", "self_signed", args=("*envs",))
def self_signed(v, stmt, out):
    envs = [w.value for w in stmt.args["envs"]]
    known = [s.args["name"].value for s in v.doc.edge.body if s.kind == "env"]
    for word in stmt.args["envs"]:
        if word.value not in known:
            v.sink.error("E102", f"environment '{word.value}' is not defined in this file", word.span,
                         hint=(f"did you mean '{guess}'?" if (guess := did_you_mean(word.value, known))
                               else "environments: " + (", ".join(known) or "none")))
    # without names: every environment; with names: only those (`self_signed dev`)
    out["self_signed"] = not envs or v.env.name in envs


@directive("listen", "redirect_https", args=("port",),
           features={"listener.redirect_https": "listener that redirects every request to HTTPS"},
           uses=lambda lst: ["listener.redirect_https"] if lst.redirect else [])
def redirect_https(v, stmt, out):
    out["redirect"] = ir.HttpsRedirect(port=v.integer(stmt.args["port"], "redirect port", default=443,
                                                      low=1, high=65535))


@directive("listen", "hsts", args=("max_age", "*options"), once="hsts",
           features={"listener.hsts": "Strict-Transport-Security on the responses of an HTTPS listener"},
           uses=lambda lst: ["listener.hsts"] if lst.hsts else [])
def hsts(v, stmt, out):
    max_age = stmt.args["max_age"]
    if max_age.value % 1000:
        v.sink.error("E221", f"hsts max-age {max_age.raw} is not whole seconds", max_age.span,
                     hint="write it in s, m, h or d, e.g. hsts 365d")
    options = [o.value for o in stmt.args["options"]]
    for i, option in enumerate(stmt.args["options"]):
        if option.value in options[:i]:
            v.sink.error("E010", f"'{option.value}' is given twice", option.span, hint="keep one of them")
    out["hsts"] = ir.Hsts(max_age.value // 1000, "include_subdomains" in options, "preload" in options)


@directive("listen", "bind", args=("address",))
def bind(v, stmt, out):
    address = v.string(stmt.args["address"], "bind address", default="0.0.0.0")
    try:
        ipaddress.ip_address(address)
    except ValueError:
        v.sink.error("E202", f"bind address '{address}' is not an IP address", stmt.args["address"].span,
                     hint='write "127.0.0.1" or "0.0.0.0"')
    out["address"] = address
