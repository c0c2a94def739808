"""python -m simulators.hotline --port N [--client-key-url URL] [--seed N] [--demo-orders]"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from types import FrameType

from simulators.hotline.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m simulators.hotline", description="模拟的12345热线平台")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002)
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same key")
    parser.add_argument(
        "--client-key-url",
        default="",
        help="where to read Minzheng's public key (else set it with POST /admin/client-key)",
    )
    parser.add_argument("--demo-orders", action="store_true", help="start with a few work orders (demo)")
    parser.add_argument("--division", default="640202000000", help="the county the demo orders are about")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, stream=sys.stderr)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    with contextlib.suppress(KeyboardInterrupt):
        serve(
            host=args.host,
            port=args.port,
            seed=args.seed,
            client_key_url=args.client_key_url,
            demo_orders=args.demo_orders,
            division=args.division,
        )


if __name__ == "__main__":
    main()
