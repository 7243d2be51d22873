"""The built-in gateway: `edgec run` executes the IR.

The data path is callback-style asyncio Protocols with httptools on both sides (no
coroutine per request; docs/runtime.md says why). One module per job:

  server.py     the client side: parse, limits, pipelining, hand each request to an Exchange
  h2conn.py     HTTP/2 client connections (ALPN h2, the h2 library): each stream an Exchange
  exchange.py   one request through the policy steps to a local answer or an upstream
  upstream.py   upstream connections and per-server keep-alive pools
  balance.py    picking a server: balancers, weights, backup, stickiness, ejection state
  health.py     active health checks
  auth.py, ratelimit.py, cache.py, cors.py   the route policies
  aggregate.py  buffered sub-requests: aggregation and mirroring
  metrics.py, accesslog.py                   observability
  shared_metrics.py  --workers N: per-slot metric files that a scrape sums
  http.py       HTTP/1.1 framing helpers (never a parser)
  gateway.py    one generation of config compiled for serving (what a reload replaces)
  plan.py       what a routing decision takes, worked out once per memoised decision
  process.py    listeners, workers, reload on SIGHUP, graceful shutdown
  timers.py     the per-process coarse clock that expires deadlines
  outbox.py     HTTP/1.1 writes held until the event loop's pass is over, then sent together
"""
