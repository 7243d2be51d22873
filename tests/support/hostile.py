"""Hostile strings for every target's quoting tests: the alphabet, the source fields they
go into, and the helpers that write them as .edge literals and send them."""
from __future__ import annotations

import http.client

from edgec.diagnostics import CompileError, Sink

HOSTILE = "\"';{}$#\\ %?&=/~^*()[]|<>!@`,.:+-_aZ09é☃𝄞"
LINE_BREAKS = "\n\r\t"


def edge_string(text: str) -> str:
    """`text` as an .edge string literal."""
    out = []
    for ch in text:
        if ch in '"\\$':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def lower_only(source: str):
    """(IR, errors) from parsing and lowering alone: a target's quoting is under test, not the
    lint rules (which run on every source elsewhere)."""
    from edgec.lower import lower
    from edgec.parse import parse
    sink = Sink("hostile.edge")
    try:
        return lower(parse(source, "hostile.edge", sink), None, sink), []
    except CompileError as err:
        return None, [d for d in err.diagnostics if d.severity == "error"]


def latin1(text: str) -> str:
    """How an HTTP library that reads header bytes as Latin-1 shows `text` sent as UTF-8."""
    return text.encode("utf-8").decode("latin-1")


def send(port: int, target: str, headers: list[tuple[str, str]] = ()) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
    conn.putheader("Host", "edge.test")
    for name, value in headers:
        conn.putheader(name, value.encode("utf-8"))
    conn.endheaders()
    resp = conn.getresponse()
    resp.body = resp.read()  # type: ignore[attr-defined]
    conn.close()
    return resp


FIELDS = {
    "edge name": 'edge {s} {{ route r {{ respond 200 "x" }} }}',
    "host": 'edge "t" {{ route r {{ match host {s} respond 200 "x" }} }}',
    "exact path": 'edge "t" {{ route r {{ match path exact {s} respond 200 "x" }} }}',
    "prefix path": 'edge "t" {{ route r {{ match path prefix {s} respond 200 "x" }} }}',
    "regex path": 'edge "t" {{ route r {{ match path regex {s} header "X" = "1" respond 200 "x" }} }}',
    "header name": 'edge "t" {{ route r {{ match header {s} present respond 200 "x" }} }}',
    "header regex": 'edge "t" {{ route r {{ match header "X" ~ {s} respond 200 "x" }} }}',
    "query regex": 'edge "t" {{ route r {{ match query "q" ~ {s} respond 200 "x" }} }}',
    "response header value": 'edge "t" {{ route r {{ response_header add "X" {s} respond 200 "x" }} }}',
    "request header value": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} '
                            'route r {{ request_header add "X" {s} forward u }} }}',
    "body": 'edge "t" {{ route r {{ respond 200 {s} }} }}',
    "content type": 'edge "t" {{ route r {{ respond 200 "x" type {s} }} }}',
    "redirect location": 'edge "t" {{ route r {{ redirect 302 {s} }} }}',
    "redirect host": 'edge "t" {{ route r {{ redirect 302 host {s} }} }}',
    "redirect prefix": 'edge "t" {{ route r {{ match path prefix "/a" redirect 302 prefix {s} }} }}',
    "rewrite path": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ rewrite path {s} forward u }} }}',
    "rewrite prefix": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} '
                      'route r {{ rewrite prefix "/a" {s} forward u }} }}',
    "strip prefix": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ strip_prefix {s} forward u }} }}',
    "cors origin": 'edge "t" {{ route r {{ cors {{ origins {s} headers {s} expose {s} }} respond 200 "x" }} }}',
    "realm": 'edge "t" {{ auth basic b {{ htpasswd "/h" realm {s} }} route r {{ auth b respond 200 "x" }} }}',
    "htpasswd path": 'edge "t" {{ auth basic b {{ htpasswd {s} }} route r {{ auth b respond 200 "x" }} }}',
    "api key header": 'edge "t" {{ auth api_key k {{ header {s} keys ${{secret:K}} }} '
                      'route r {{ auth k respond 200 "x" }} }}',
    "api key": 'edge "t" {{ auth api_key k {{ keys ${{secret:K}} }} route r {{ auth k respond 200 "x" }} }}',
    "tls paths": 'edge "t" {{ listen https 8443 {{ tls cert {s} key {s} }} route r {{ respond 200 "x" }} }}',
    "access log": 'edge "t" {{ route r {{ respond 200 "x" }} access_log json {s} }}',
    "metrics path": 'edge "t" {{ route r {{ respond 200 "x" }} metrics {s} }}',
    "sticky cookie": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" sticky cookie {s} }} route r {{ forward u }} }}',
    "hash header": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" balance hash header {s} }} route r {{ forward u }} }}',
    "rate limit header": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} '
                         'route r {{ rate_limit 1/s by header {s} forward u }} }}',
    "rewrite host": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ rewrite host {s} forward u }} }}',
    "upstream tls": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" tls ca {s} cert {s} key {s} }} '
                    'route r {{ forward u }} }}',
    "client cert": 'edge "t" {{ listen https 8443 {{ tls cert "/c" key "/k" client_cert ca {s} header {s} }} '
                   'route r {{ respond 200 "x" }} }}',
    "tracing url": 'edge "t" {{ vars {{ p = {s} }} route r {{ respond 200 "x" }} '
                   'tracing otlp "http://127.0.0.1:9/${{p}}" }}',
    "external auth url": 'edge "t" {{ vars {{ p = {s} }} auth external x {{ url "http://127.0.0.1:9/${{p}}" }} '
                         'upstream u {{ server "127.0.0.1:9" }} route r {{ auth x forward u }} }}',
    "external auth headers": 'edge "t" {{ auth external x {{ url "http://127.0.0.1:9" forward_headers {s} '
                             'copy_headers {s} }} upstream u {{ server "127.0.0.1:9" }} route r {{ auth x forward u }} }}',
    "keys file": 'edge "t" {{ auth api_key k {{ keys_file {s} }} route r {{ auth k respond 200 "x" }} }}',
    "bind address": 'edge "t" {{ listen http 8080 {{ bind {s} }} route r {{ respond 200 "x" }} }}',
    "trusted proxy": 'edge "t" {{ route r {{ respond 200 "x" }} trust_proxies {s} }}',
    "server address": 'edge "t" {{ upstream u {{ server {s} }} route r {{ forward u }} }}',
    "cache vary": 'edge "t" {{ upstream u {{ server "127.0.0.1:9" }} route r {{ cache 1m vary {s} forward u }} }}',
}
