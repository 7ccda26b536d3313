"""clanker's LLM layer: one neutral request/response model over Anthropic, OpenAI, xAI and
OpenAI-compatible local servers, with fallback, retries on trio time, and cost accounting.

* `model`: `LlmRequest`, `LlmResponse`, parts, tools, usage, stream deltas.
* `LlmService`: runs calls (complete or stream) through the providers in fallback order.
* `Llm` / `llm_child` / `LlmClient`: the actor that owns the clients and logs ``llm_call``.
* `RetryPolicy`: the sans-IO retry / fall back / give up decisions.
* `PriceTable`: USD per million tokens; `cost_usd`.

See docs/llm.md.
"""

from clanker.llm.actor import (
    LLM_NAME,
    Complete,
    DescribeProviders,
    Llm,
    LlmClient,
    LlmCompleted,
    LlmFailed,
    ProviderInfo,
    ProvidersDescribed,
    llm_child,
)
from clanker.llm.calllog import LLM_CALL, StoreCallLog, call_action
from clanker.llm.config import LlmConfig, ProviderConfig
from clanker.llm.errors import (
    AllProvidersFailed,
    AuthFailed,
    BadRequest,
    ConnectionFailed,
    ErrorKind,
    LlmConfigError,
    LlmError,
    LlmFailure,
    LlmTimeout,
    Overloaded,
    ProviderError,
    RateLimited,
    ServerError,
)
from clanker.llm.model import (
    CallContext,
    ImagePart,
    LlmMessage,
    LlmRequest,
    LlmResponse,
    OutputSchema,
    StreamDelta,
    StreamDone,
    SystemPart,
    TextDelta,
    TextPart,
    ToolCall,
    ToolCallDelta,
    ToolCallDone,
    ToolResultPart,
    ToolSpec,
    ToolUsePart,
    Usage,
    assistant,
    user,
)
from clanker.llm.pricing import DEFAULT_PRICES, FREE, ModelPrice, PriceTable, cost_usd
from clanker.llm.retry import FallBack, GiveUp, RetryAt, RetryConfig, RetryPolicy, parse_retry_after
from clanker.llm.service import AttemptRecord, CallRecord, LlmService, LlmStream

__all__ = [
    "DEFAULT_PRICES",
    "FREE",
    "LLM_CALL",
    "LLM_NAME",
    "AllProvidersFailed",
    "AttemptRecord",
    "AuthFailed",
    "BadRequest",
    "CallContext",
    "CallRecord",
    "Complete",
    "ConnectionFailed",
    "DescribeProviders",
    "ErrorKind",
    "FallBack",
    "GiveUp",
    "ImagePart",
    "Llm",
    "LlmClient",
    "LlmCompleted",
    "LlmConfig",
    "LlmConfigError",
    "LlmError",
    "LlmFailed",
    "LlmFailure",
    "LlmMessage",
    "LlmRequest",
    "LlmResponse",
    "LlmService",
    "LlmStream",
    "LlmTimeout",
    "ModelPrice",
    "OutputSchema",
    "Overloaded",
    "PriceTable",
    "ProviderConfig",
    "ProviderError",
    "ProviderInfo",
    "ProvidersDescribed",
    "RateLimited",
    "RetryAt",
    "RetryConfig",
    "RetryPolicy",
    "ServerError",
    "StoreCallLog",
    "StreamDelta",
    "StreamDone",
    "SystemPart",
    "TextDelta",
    "TextPart",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolResultPart",
    "ToolSpec",
    "ToolUsePart",
    "Usage",
    "assistant",
    "call_action",
    "cost_usd",
    "llm_child",
    "parse_retry_after",
    "user",
]
