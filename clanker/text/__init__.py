"""The text reply pipeline's sans-IO cores: who is spoken to, when to answer, what to send.

Nothing here imports trio or touches the network: each core is fed plain values and the
current trio time and returns decisions or actions. `ChannelBrain` ties them together for one
channel; the actor around it only pumps events in and carries actions out. See
docs/text-pipeline.md.
"""

from clanker.text.actions import (
    DECISION_ACTION_KIND,
    AcknowledgeStop,
    Action,
    BrainAction,
    CancelGeneration,
    Decision,
    LogDecision,
    ShowTyping,
    StartGeneration,
)
from clanker.text.address import Address, AddressKind, address_signal, find_name
from clanker.text.admission import (
    Admission,
    AdmissionReason,
    admit,
    channel_refusal,
    sender_refusal,
)
from clanker.text.attention import (
    MAX_RESPONSE_WINDOW,
    Attention,
    attention_state,
    response_window_size,
)
from clanker.text.brain import (
    GENERATION_TIMEOUT_SECONDS,
    RETRY_BACKOFF_SECONDS,
    RETRY_LIMIT,
    TYPING_REFRESH_SECONDS,
    ChannelBrain,
)
from clanker.text.coalescing import EDGE_GRACE_SECONDS, QUEUE_CAPACITY, QueuedMessage, ReplyQueue
from clanker.text.context import Prompt, Turn, build_reply_prompt, participants_of
from clanker.text.delivery import DeliveryPlan, Truncation, choose_reply_to, plan_delivery
from clanker.text.jobs import Outcome, ReplyJob
from clanker.text.mentions import resolve_mentions
from clanker.text.output import (
    MAX_REPLY_CHARS,
    SKIP_TOKEN,
    ParseState,
    ReplyOutput,
    normalize_reaction,
    parse_reply_output,
)
from clanker.text.pacing import (
    GateVerdict,
    PaceReason,
    PaceVerdict,
    PacingState,
    SendGate,
    SendLog,
    may_react,
    pace,
)
from clanker.text.splitting import DISCORD_SPLIT_LIMIT, Span, split_message, split_spans
from clanker.text.stopwords import is_stop_request
from clanker.text.views import MessageView, Participant

__all__ = [
    "DECISION_ACTION_KIND",
    "DISCORD_SPLIT_LIMIT",
    "EDGE_GRACE_SECONDS",
    "GENERATION_TIMEOUT_SECONDS",
    "MAX_REPLY_CHARS",
    "MAX_RESPONSE_WINDOW",
    "QUEUE_CAPACITY",
    "RETRY_BACKOFF_SECONDS",
    "RETRY_LIMIT",
    "SKIP_TOKEN",
    "TYPING_REFRESH_SECONDS",
    "AcknowledgeStop",
    "Action",
    "Address",
    "AddressKind",
    "Admission",
    "AdmissionReason",
    "Attention",
    "BrainAction",
    "CancelGeneration",
    "ChannelBrain",
    "Decision",
    "DeliveryPlan",
    "GateVerdict",
    "LogDecision",
    "MessageView",
    "Outcome",
    "PaceReason",
    "PaceVerdict",
    "PacingState",
    "ParseState",
    "Participant",
    "Prompt",
    "QueuedMessage",
    "ReplyJob",
    "ReplyOutput",
    "ReplyQueue",
    "SendGate",
    "SendLog",
    "ShowTyping",
    "Span",
    "StartGeneration",
    "Truncation",
    "Turn",
    "address_signal",
    "admit",
    "attention_state",
    "build_reply_prompt",
    "channel_refusal",
    "choose_reply_to",
    "find_name",
    "is_stop_request",
    "may_react",
    "normalize_reaction",
    "pace",
    "parse_reply_output",
    "participants_of",
    "plan_delivery",
    "resolve_mentions",
    "response_window_size",
    "sender_refusal",
    "split_message",
    "split_spans",
]
