"""python -m simulators.departments --port N --callback-base URL --seed N"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from types import FrameType

from simulators.departments.server import serve


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.departments", description="模拟的核对协作部门"
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0: any free port (printed at start)")
    parser.add_argument(
        "--callback-base",
        required=True,
        help="Minzheng's address: callbacks go only below it; its public key is read from "
        "{callback-base}/api/v1/exchange/public-key",
    )
    parser.add_argument("--seed", type=int, default=1, help="the same seed gives the same data and keys")
    parser.add_argument("--answer-days", type=int, default=0, help="working days until an answer is due")
    parser.add_argument("--delay-seconds", type=float, default=0.0, help="least seconds before an answer")
    parser.add_argument("--client-key-url", default="", help="where to read Minzheng's public key")
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
            callback_base=args.callback_base,
            answer_days=args.answer_days,
            delay_seconds=args.delay_seconds,
            client_key_url=args.client_key_url,
        )


if __name__ == "__main__":
    main()
