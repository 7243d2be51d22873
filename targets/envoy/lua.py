"""The one Lua snippet the bootstrap may carry: fixed text, never built from the source.

Envoy keeps the port the client put in Host when a redirect names no host and no port
(port_redirect cannot say "none"), while routing drops it when the redirect lands on
the scheme's default port; routes that redirect so run this first.
"""
from __future__ import annotations

FILTER = "envoy.filters.http.lua"
LUA = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua"
PER_ROUTE = "type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute"
STRIP_PORT = "strip_host_port"
_SOURCES = {STRIP_PORT: """\
function envoy_on_request(handle)
  local headers = handle:headers()
  local authority = headers:get(":authority")
  if authority then
    local host = string.match(authority, "^(%[.*%]):%d*$") or string.match(authority, "^([^:]*):%d*$")
    if host then
      headers:replace(":authority", host)
    end
  end
end
"""}


def http_filter() -> dict:
    return {"name": FILTER, "typed_config": {
        "@type": LUA, "source_codes": {name: {"inline_string": code} for name, code in _SOURCES.items()}}}


def per_route(name: str) -> dict:
    return {FILTER: {"@type": PER_ROUTE, "name": name}}
