"""edgec run FILE --env E: serve the edge with the built-in gateway."""
from __future__ import annotations

import os

from ._common import add_env


def add_arguments(parser) -> None:
    parser.add_argument("file", metavar="FILE")
    add_env(parser)
    parser.add_argument("--workers", "-w", type=int, default=1, metavar="N",
                        help="processes sharing each listening port (SO_REUSEPORT); default 1")
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
    from ..runtime.process import Options, serve
    return serve(Options(file=args.file, env=args.env, workers=max(1, args.workers), redis_url=args.redis,
                         secrets_dir=args.secrets_dir, drain_s=args.drain_timeout,
                         cache_max_bytes=args.cache_size * 1024 * 1024))
