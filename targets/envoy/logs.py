"""The access log: the fields the other targets write, in Envoy's command language."""
from __future__ import annotations

from edgec import ir

Plan = dict

FILE = "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog"
PATH = "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
# a value that is one command keeps its type (numbers stay numbers)
JSON_FIELDS = {
    "time": "%START_TIME%",
    "remote_addr": "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%",
    "method": "%REQ(:METHOD)%",
    "uri": PATH,
    "protocol": "%PROTOCOL%",
    "status": "%RESPONSE_CODE%",
    "bytes_sent": "%BYTES_SENT%",
    "duration_ms": "%DURATION%",
    "host": "%REQ(:AUTHORITY)%",
    "upstream": "%UPSTREAM_HOST%",
    "user_agent": "%REQ(USER-AGENT)%",
    "request_id": "%REQ(X-REQUEST-ID)%",
    "trace_id": "",  # %TRACE_ID% on an edge that traces
}
COMBINED = ('%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% - - [%START_TIME(%d/%b/%Y:%H:%M:%S %z)%] '
            f'"%REQ(:METHOD)% {PATH} %PROTOCOL%" %RESPONSE_CODE% %BYTES_SENT% "%REQ(REFERER)%" '
            '"%REQ(USER-AGENT)%"\n')


def access_log(observability: ir.Observability) -> Plan | None:
    log = observability.access_log
    if log.format == "off":
        return None
    fields = dict(JSON_FIELDS)
    if observability.tracing is not None:
        fields["trace_id"] = "%TRACE_ID%"
    fmt: Plan = {"json_format": fields} if log.format == "json" else \
        {"text_format_source": {"inline_string": COMBINED}}
    return {"name": "envoy.access_loggers.file",
            "typed_config": {"@type": FILE, "path": "/dev/stdout" if log.path == "-" else log.path,
                             "log_format": fmt}}
