"""edgec run FILE --env E: serve the edge with the built-in gateway."""
from __future__ import annotations

import argparse
import os

from ._common import add_env, add_no_cache, compile_or_report


def _workers(text: str) -> int:
    if text == "auto":  # as nginx's worker_processes auto: one per CPU this process may run on
        return len(os.sched_getaffinity(0))
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a number of processes (1 or more) or 'auto', not '{text}'")
    return n


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    add_env(parser)
    add_no_cache(parser)
    parser.add_argument("--workers", "-w", type=_workers, default=1, metavar="N|auto",
                        help="processes sharing each listening port (SO_REUSEPORT): a number, or 'auto' "
                             "for one per CPU; default 1")
    parser.add_argument("--redis", metavar="URL", default=os.environ.get("EDGEC_REDIS_URL"),
                        help="share rate-limit budgets through this Redis (redis://host:port/db); "
                             "default $EDGEC_REDIS_URL, else each process counts alone")
    parser.add_argument("--secrets-dir", default=os.environ.get("EDGEC_SECRETS_DIR"),
                        help="directory of secret files (default: $EDGEC_SECRETS_DIR); "
                             "a secret is read from the environment variable of its name first")
    parser.add_argument("--drain-timeout", type=float, default=30.0, metavar="SECONDS",
                        help="on SIGTERM, how long requests in flight may take to finish (default 30)")
    parser.add_argument("--cache-size", type=int, default=64, metavar="MB",
                        help="response cache memory per route and process, in MiB (default 64)")


def run(args) -> int:
    from ..pipeline import secret_resolver
    from ..runtime.process import Options, serve
    return serve(Options(args.file, _loader(args.file, args.env), secret_resolver(args.secrets_dir),
                         workers=args.workers, redis_url=args.redis, drain_s=args.drain_timeout,
                         cache_max_bytes=args.cache_size * 1024 * 1024))


def _loader(path: str, env: str | None):
    """The runtime's way to (re)compile the file: every diagnostic printed, the IR or ConfigError."""
    def load():
        from ..runtime.process import ConfigError
        result = compile_or_report(path, env, warnings=True)
        if result is None:
            raise ConfigError(f"cannot load {path}")
        return result.edge
    return load
