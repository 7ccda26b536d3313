"""``python -m clanker.llmsim``: run a local fake LLM provider until interrupted.

Point any Anthropic or OpenAI client (or a clanker `ProviderConfig`) at it to try things
without a key or a network: it echoes the last user message, or answers every request with
``--reply``. It prints the base URLs to use.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

import trio

from clanker.llmsim.script import RecordedRequest, Text, Turn, echo
from clanker.llmsim.server import LlmSim, open_llmsim


async def serve_forever(
    host: str = "127.0.0.1",
    port: int = 0,
    api_key: str | None = None,
    reply: str | None = None,
    chunk_delay: float = 0.05,
    *,
    task_status: trio.TaskStatus[LlmSim] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled, answering with ``reply`` (or an echo) streamed ``chunk_delay``
    seconds apart; ``nursery.start`` returns the running `LlmSim`."""

    def respond(request: RecordedRequest) -> Turn:
        turn = Text(reply) if reply is not None else echo(request)
        assert isinstance(turn, Text)
        return Text(turn.text, chunk_delay=chunk_delay)

    async with open_llmsim(api_key=api_key, default=respond, host=host, port=port) as sim:
        print(f"llmsim listening: anthropic base_url {sim.anthropic_url}", flush=True)
        print(f"                  openai    base_url {sim.openai_url}", flush=True)
        task_status.started(sim)
        await trio.sleep_forever()


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m clanker.llmsim", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: an ephemeral one)")
    parser.add_argument("--api-key", default=None, help="require this key (default: any)")
    parser.add_argument("--reply", default=None, help="answer every request with this text")
    parser.add_argument(
        "--chunk-delay", type=float, default=0.05, help="seconds between streamed words (0.05)"
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is meant to stop
        trio.run(serve_forever, args.host, args.port, args.api_key, args.reply, args.chunk_delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
