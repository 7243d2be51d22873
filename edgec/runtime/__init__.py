"""The built-in gateway: `edgec run` executes the IR.

The data path is callback-style asyncio Protocols with httptools on both sides (no
coroutine per request; see docs/runtime.md for why). One module per job:

  server.py     the client side: parse, limits, pipelining, hand each request to an Exchange
  exchange.py   one request through the policy steps to a local answer or an upstream
  upstream.py   upstream connections and per-server keep-alive pools
  balance.py    picking a server: balancers, weights, backup, stickiness, ejection state
  health.py     active health checks
  policy.py     per-route policy compiled once per config (auth, limits, cache, CORS, headers)
  auth.py, ratelimit.py, cache.py, cors.py, aggregate.py, metrics.py, accesslog.py
  gateway.py    the compiled config: what one config generation serves
  process.py    listeners, workers, reload on SIGHUP, graceful shutdown
"""
