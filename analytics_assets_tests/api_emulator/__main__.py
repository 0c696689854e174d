"""Serve the emulator from the command line until interrupted.

Example: `python -m analytics_assets_tests.api_emulator --start 2024-03-01 --days 3`.
The first line on stdout is the base URL to use as `SOURCES__ANALYTICS__BASE_URL`.
"""

import argparse
import signal
import sys
import threading

from analytics_assets_tests.api_emulator import ApiEmulator, day, generate_data


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, start serving, print the URL and wait for SIGINT or SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--api-key", required=True, help="the only bearer key accepted")
    parser.add_argument("--start", type=day, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    args = parser.parse_args(argv)

    data = generate_data(
        start=args.start,
        days=args.days,
        files=args.files,
        batches=args.batches,
        models=args.models,
        seed=args.seed,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    emulator = ApiEmulator(
        data, args.api_key, host=args.host, port=args.port, latency_seconds=args.latency
    )
    with emulator:
        sys.stdout.write(f"{emulator.url}\n")
        sys.stdout.flush()
        stop.wait()


if __name__ == "__main__":
    main()
