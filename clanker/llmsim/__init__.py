"""llmsim: local LLM servers that speak the real Anthropic and OpenAI wire formats.

The official SDKs make real HTTP calls to it (on 127.0.0.1, an ephemeral port), and each
request takes the next scripted turn: text (streamed in timed chunks), tool calls, structured
JSON, HTTP errors in the provider's own shape (429 with retry-after, Anthropic's 529), an error
event mid-stream, a stall, a dropped connection. Every request is recorded for assertions.
Used by the tests, the benchmarks and the demo. See docs/llm.md, "Scripting llmsim".
"""

from clanker.llmsim.script import (
    Disconnect,
    HttpError,
    JsonReply,
    RecordedRequest,
    Responder,
    SimToolCall,
    SimUsage,
    Stall,
    StreamError,
    Text,
    ToolUse,
    Turn,
    bad_request,
    echo,
    overloaded,
    rate_limited,
    server_error,
    unauthorized,
)
from clanker.llmsim.server import LlmSim, open_llmsim

__all__ = [
    "Disconnect",
    "HttpError",
    "JsonReply",
    "LlmSim",
    "RecordedRequest",
    "Responder",
    "SimToolCall",
    "SimUsage",
    "Stall",
    "StreamError",
    "Text",
    "ToolUse",
    "Turn",
    "bad_request",
    "echo",
    "open_llmsim",
    "overloaded",
    "rate_limited",
    "server_error",
    "unauthorized",
]
