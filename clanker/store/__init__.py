"""clanker's store: one SQLite file (WAL, sqlite-vec loaded) owned by the `Store` actor.

Add ``store_child(path)`` to the supervision tree and talk to ``rt.lookup("store")`` with the
messages in `clanker.store.messages` (or through `StoreClient`). See docs/store.md.
"""

from clanker.store.actor import STORE_NAME, Store, open_store, store_child
from clanker.store.client import StoreClient, StoreRequestError
from clanker.store.content import fold_content
from clanker.store.messages import (
    ActionAppended,
    ActionCount,
    ActionLogged,
    ActionRow,
    ActionRows,
    ActionsQuery,
    ActionTotals,
    ActionTotalsRow,
    ActionTotalsRows,
    Claimed,
    ClaimTrigger,
    CountActions,
    GetMessage,
    GetSetting,
    LinkTriggerAction,
    LogAction,
    MarkMessageDeleted,
    MarkMessageEdited,
    MessageRow,
    MessageRows,
    PutSetting,
    RecentMessages,
    RowsChanged,
    SettingConflict,
    SettingStored,
    SettingValue,
    StoreMessage,
    StoreRejected,
    StoreReply,
    StoreRequest,
)
from clanker.store.migrations import LATEST_VERSION, MigrationFailed, SchemaTooNew
from clanker.store.sqlite import StoreOpenError
from clanker.store.validation import MAX_LIMIT, to_json
from clanker.store.wallclock import normalize_iso, to_iso, utc_now_iso

__all__ = [
    "LATEST_VERSION",
    "MAX_LIMIT",
    "STORE_NAME",
    "ActionAppended",
    "ActionCount",
    "ActionLogged",
    "ActionRow",
    "ActionRows",
    "ActionTotals",
    "ActionTotalsRow",
    "ActionTotalsRows",
    "ActionsQuery",
    "ClaimTrigger",
    "Claimed",
    "CountActions",
    "GetMessage",
    "GetSetting",
    "LinkTriggerAction",
    "LogAction",
    "MarkMessageDeleted",
    "MarkMessageEdited",
    "MessageRow",
    "MessageRows",
    "MigrationFailed",
    "PutSetting",
    "RecentMessages",
    "RowsChanged",
    "SchemaTooNew",
    "SettingConflict",
    "SettingStored",
    "SettingValue",
    "Store",
    "StoreClient",
    "StoreMessage",
    "StoreOpenError",
    "StoreRejected",
    "StoreReply",
    "StoreRequest",
    "StoreRequestError",
    "fold_content",
    "normalize_iso",
    "open_store",
    "store_child",
    "to_iso",
    "to_json",
    "utc_now_iso",
]
