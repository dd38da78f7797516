# -*- coding: utf-8 -*-
# Copyright: paas.orchestrator contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the fault proxy as a process; prints its URL on the first line of stdout.

  python -m ansible_collections.paas.orchestrator.tests.emulators.faultproxy \\
      --target http://127.0.0.1:8774 --port 0 --rate 0.2 --seed 1
"""

from __future__ import annotations

import json
import logging
import sys

from .. import serving
from .proxy import KINDS, FaultProxy


def _csv(cast):
    return lambda text: [cast(item) for item in text.split(",") if item]


def main(argv=None) -> int:
    parser = serving.parser("faultproxy", __doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="upstream base URL (http://)")
    parser.add_argument("--rate", type=float, default=0.0, help="fraction of requests faulted")
    parser.add_argument("--kinds", type=_csv(str), default=list(KINDS),
                        help="comma-separated among " + ",".join(KINDS))
    parser.add_argument("--statuses", type=_csv(int), default=[500, 502, 503])
    parser.add_argument("--retry-after", type=int, default=1, help="seconds, for 429")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added")
    parser.add_argument("--jitter", type=float, default=0.0, help="up to this many more")
    parser.add_argument("--path", help="regex: fault only requests whose path matches")
    parser.add_argument("--methods", type=_csv(str), help="fault only these methods")
    parser.add_argument("--budget", type=int, help="stop faulting after this many faults")
    parser.add_argument("--forward-faulted", action="store_true",
                        help="error/drop after the upstream has acted on the request")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--rewrite-target", action="store_true",
                        help="rewrite the target URL to the proxy's in bodies and Location")
    parser.add_argument("--rewrite", action="append", default=[], metavar="FROM=TO",
                        help="also rewrite the base URL FROM to TO (repeatable)")
    parser.add_argument("--timeout", type=float, default=60.0, help="upstream timeout, s")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="faultproxy: %(message)s")
    try:
        rewrites = dict(item.split("=", 1) for item in args.rewrite)
        proxy = FaultProxy(
            args.target, host=args.host, port=args.port, rewrite_target=args.rewrite_target,
            rewrites=rewrites, timeout=args.timeout, rate=args.rate, kinds=args.kinds,
            statuses=args.statuses, retry_after=args.retry_after, latency=args.latency,
            jitter=args.jitter, path=args.path, methods=args.methods, budget=args.budget,
            forward_faulted=args.forward_faulted, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    logging.info("%s -> %s %s", proxy.url, proxy.target, json.dumps(proxy.faults.to_json()))
    return serving.run(proxy)  # SIGTERM (kill, a test's Popen.terminate) ends as Ctrl-C does


if __name__ == "__main__":
    sys.exit(main())
