"""Circuit breaking through the real Envoy: the cluster's circuit_breakers answer what does not
fit in the connections and the queue with 503 at once."""
from __future__ import annotations

import http.client

from tests.support import at_once


def test_circuit_breaker_refuses_what_does_not_fit(gateway):
    gw = gateway('''edge "t" {
      listen http 8080
      upstream app { server "127.0.0.1:1" circuit_breaker max_connections 2 max_pending 2 }
      route r { forward app }
    }''')
    answers = at_once.statuses(gw.ports[8080], 8, "/slow?delay=1")
    served = [a for a in answers if a == 200]
    refused = [a for a in answers if a == 503]
    # two connections and two places in the queue at most (Envoy also counts a request waiting
    # for a new connection to open as pending, so fewer may be served: the capability row)
    assert 2 <= len(served) <= 4 and len(served) + len(refused) == 8
    assert len(gw.echoes["app"].requests) == len(served)
    # Envoy's own count of what its circuit breaker refused (the answers carry no x-envoy-*)
    c = http.client.HTTPConnection("127.0.0.1", gw.admin_port, timeout=10)
    c.request("GET", "/stats?filter=^cluster\\.app\\.upstream_rq_pending_overflow$")
    stats = c.getresponse().read().decode()
    c.close()
    assert stats.strip() == f"cluster.app.upstream_rq_pending_overflow: {len(refused)}", stats
