"""The `clanker` command line."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the `clanker` command line; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="clanker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="watch a supervision tree recover from crashes")
    demo.add_argument("--seconds", type=float, default=6.0, help="how long to run (default 6)")
    demo.add_argument("--seed", type=int, default=0, help="seed for the demo's randomness")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from clanker.demo import run_demo

        return run_demo(seconds=args.seconds, seed=args.seed)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
