"""The `clanker` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Run the `clanker` command line; returns the process exit status."""
    parser = argparse.ArgumentParser(prog="clanker", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    sandbox = sub.add_parser(
        "sandbox",
        help="run clanker against a built-in local Discord and chat with it in the terminal",
    )
    sandbox.add_argument("--as", dest="user", default="alice", help="member you speak as")
    sandbox.add_argument("--channel", default="general", help="text channel you start in")
    sandbox.add_argument(
        "--db", type=Path, default=None, help="keep the store in this file (default: a temp file)"
    )
    sandbox.add_argument(
        "--linger",
        type=float,
        default=10.0,
        help="seconds to keep running after end of input, for last replies (default 10)",
    )
    sandbox.add_argument("--seed", type=int, default=0, help="seed for the runtime's randomness")
    sandbox.add_argument(
        "--no-dashboard",
        dest="dashboard",
        action="store_false",
        help="do not start the operator dashboard (it prints its URL by default)",
    )
    sandbox.add_argument("-v", "--verbose", action="store_true", help="log at INFO on stderr")

    run = sub.add_parser("run", help="run clanker against Discord (needs DISCORD_TOKEN)")
    run.add_argument("-v", "--verbose", action="store_true", help="log at INFO on stderr")

    demo = sub.add_parser("demo", help="watch a supervision tree recover from crashes")
    demo.add_argument("--seconds", type=float, default=6.0, help="how long to run (default 6)")
    demo.add_argument("--seed", type=int, default=0, help="seed for the demo's randomness")

    args = parser.parse_args(argv)
    if args.command == "sandbox":
        from clanker.cli.sandbox import SandboxOptions, run_sandbox

        if args.linger < 0:
            parser.error(f"--linger must be >= 0 seconds, got {args.linger}")
        options = SandboxOptions(
            db_path=args.db,
            user=args.user,
            channel=args.channel,
            seed=args.seed,
            dashboard=args.dashboard,
            linger=args.linger,
        )
        return run_sandbox(options, verbose=args.verbose)
    if args.command == "run":
        from clanker.cli.run import run_live

        return run_live(verbose=args.verbose)
    if args.command == "demo":
        from clanker.demo import run_demo

        return run_demo(seconds=args.seconds, seed=args.seed)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
