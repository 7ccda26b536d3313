// The JSON shapes of clanker's dashboard API (clanker/dashboard/shapes.py, documented in
// docs/dashboard-api.md). Discord ids are strings: a snowflake does not fit a JS number.

export type Snowflake = string;

export interface FieldError {
  path: string;
  message: string;
}

export interface ApiErrorBody {
  error: string;
  errors?: FieldError[];
}

export interface SessionState {
  authenticated: boolean;
  method: "header" | "cookie" | null;
}

export interface DiscordHealth {
  state: "logging_in" | "ready" | "reconnecting";
  relogins: number;
  seconds_since_heard: number;
  inbound_depth: number;
  inbound_capacity: number;
  inbound_dropped: number;
  lanes: number;
  lane_refusals: number;
}

export interface Health {
  ok: boolean;
  version: string;
  sandbox: boolean;
  uptime_seconds: number;
  operator_crash: boolean;
  discord: DiscordHealth | null;
}

// -- the supervision tree (clanker.runtime snapshot) ---------------------------------------------

export type ActorStatus = "starting" | "running" | "restarting" | "stopping" | "stopped";

export interface MailboxStats {
  depth: number;
  capacity: number;
  overflow: "block" | "drop_oldest" | "drop_newest";
  dropped: number;
  unhandled: number;
}

export interface ActorNode {
  name: string;
  path: string;
  kind: "actor" | "supervisor";
  status: ActorStatus;
  restarts: number;
  incarnation: number;
  mailbox: MailboxStats | null;
  children: ActorNode[];
}

interface RuntimeEventBase {
  path: string;
  at: number; // trio time, seconds
}

export type RuntimeEvent =
  | (RuntimeEventBase & { type: "ActorStarted"; kind: "actor" | "supervisor"; incarnation: number })
  | (RuntimeEventBase & { type: "ActorRestarted"; restarts: number })
  | (RuntimeEventBase & { type: "ActorStopped"; reason: "normal" | "shutdown" | "killed" })
  | (RuntimeEventBase & { type: "ActorCrashed"; error_type: string; error: string; traceback: string })
  | (RuntimeEventBase & { type: "ActorRemoved" })
  | (RuntimeEventBase & {
      type: "MailboxOverflow";
      depth: number;
      capacity: number;
      overflow: string;
      dropped: number;
    })
  | (RuntimeEventBase & { type: "UnhandledDropped"; message_type: string; unhandled: number })
  | (RuntimeEventBase & { type: "RemovedWithMessages"; dropped: number; message_types: string[] })
  | (RuntimeEventBase & { type: "SupervisorEscalated"; child: string; intensity: number; period: number });

// -- the action log ----------------------------------------------------------------------------------

export interface Action {
  id: number;
  kind: string;
  guild_id: Snowflake | null;
  channel_id: Snowflake | null;
  message_id: Snowflake | null;
  user_id: Snowflake | null;
  content: string;
  metadata: Record<string, unknown>;
  usd_cost: number;
  created_at: string;
}

export interface StoredMessage {
  id: Snowflake;
  guild_id: Snowflake | null;
  channel_id: Snowflake;
  author_id: Snowflake;
  author_name: string;
  is_bot: boolean;
  content: string;
  created_at: string;
  deleted: boolean;
}

export interface ActionPage {
  actions: Action[];
  limit: number;
  offset: number;
  next_offset: number | null;
}

// -- settings ------------------------------------------------------------------------------------------

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface JsonSchema {
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  title?: string;
  description?: string;
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  enum?: JsonValue[];
  const?: JsonValue;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  default?: JsonValue;
}

export interface SettingsView {
  version: number;
  updated_at: string | null;
  document: JsonObject;
  schema: JsonSchema;
}

export interface SettingsConflictBody {
  error: string;
  current: SettingsView;
}

// -- costs -----------------------------------------------------------------------------------------------

export interface ModelCost {
  provider: string;
  model: string;
  calls: number;
  usd_cost: number;
  input_tokens: number;
  output_tokens: number;
}

export interface DayCost {
  day: string;
  usd_cost: number;
  calls: number;
  input_tokens: number;
  output_tokens: number;
  models: ModelCost[];
}

export interface CostSummary {
  since: string;
  days: DayCost[];
  models: ModelCost[];
  kinds: { kind: string; count: number; usd_cost: number }[];
  total_usd: number;
}

// -- guilds and the sandbox --------------------------------------------------------------------

export interface ChannelView {
  id: Snowflake;
  name: string;
  kind: "text" | "voice";
}

export interface GuildView {
  id: Snowflake;
  name: string;
  channels: ChannelView[];
}

export interface MemberView {
  id: Snowflake;
  name: string;
  is_bot: boolean;
}

export interface ChatMessage {
  id: Snowflake;
  channel_id: Snowflake;
  author_id: Snowflake;
  author_name: string;
  is_bot: boolean;
  content: string;
  created_at: string;
  reply_to: Snowflake | null;
}

/** POST /api/sandbox/say: what a simulated member said aloud in the voice call. */
export interface SaidAloud {
  author_id: string;
  channel_id: string;
  text: string;
  seconds: number;
}

export interface SandboxInfo {
  guilds: GuildView[];
  members: MemberView[];
  default_channel_id: Snowflake | null;
  default_author_id: Snowflake | null;
}

// -- voice ---------------------------------------------------------------------------------------

export interface VoiceEncryption {
  end_to_end: boolean;
  protocol_version: number;
  status: "inactive" | "pending" | "ready" | "downgrading";
  privacy_code: string | null;
  epoch: number | null;
  encrypted_frames: number;
  decrypted_frames: number;
  decrypt_failures: number;
  early_dropped: number;
  passthrough_frames: number;
  outbound_dropped: number;
  last_error: string | null;
}

export interface VoiceMember {
  id: Snowflake;
  name: string | null;
}

/** Where a turn's time went, in milliseconds (null: that stage never happened). */
export interface VoiceStages {
  speech_end_to_decided: number | null;
  decided_to_transcript: number | null;
  transcript_to_first_token: number | null;
  first_token_to_first_audio: number | null;
}

export interface VoiceTurn {
  reply_id: number;
  speakers: string[];
  said: string;
  reply: string;
  outcome: "spoken" | "skipped" | "failed" | "interrupted" | "superseded" | string;
  speech_end_to_first_audio_ms: number | null;
  stages_ms: VoiceStages;
}

export interface VoiceBrainView {
  phase: "idle" | "response_pending" | "speaking_live" | "speaking_buffered" | string;
  speaking: VoiceMember[];
  listening: VoiceMember[];
  deferred: number;
  turns: VoiceTurn[]; // newest first, at most 20
  barge_ins: number;
  dropped: Record<string, number>;
}

export interface VoiceMusicView {
  phase: "idle" | "loading" | "playing" | "paused" | "paused_wake_word" | "stopping" | string;
  now_playing: string | null;
  queue: string[]; // titles, next first
  gain: number; // 0.15 while ducked under the bot's speech
  last_error: string;
  library_tracks: number;
}

export type VoiceMusicAction = "play" | "add" | "pause" | "resume" | "skip" | "stop" | "now_playing";

export interface VoiceMusicDone {
  guild_id: Snowflake;
  action: VoiceMusicAction;
  said: string;
  music: VoiceMusicView;
}

export interface VoiceConnection {
  guild_id: Snowflake;
  channel_id: Snowflake;
  phase: "idle" | "asked" | "connecting" | "ready" | "retrying" | "moved" | "left";
  endpoint: string | null;
  readies: number;
  failures: number;
  last_error: string | null;
  encryption: VoiceEncryption | null;
  brain: VoiceBrainView | null;
  music?: VoiceMusicView | null;
  muted?: boolean;
}

export interface VoiceMuteDone {
  guild_id: Snowflake;
  muted: boolean;
  in_call: boolean;
}

export interface VoiceConnections {
  connections: VoiceConnection[];
}

export interface VoiceActionDone {
  guild_id: Snowflake;
  action: "join" | "leave" | "stop_speaking";
  channel_id: Snowflake | null;
}

// -- memory (GET /api/memory, DELETE /api/memory/<id>) --

export interface MemoryFact {
  id: number;
  owner: string; // "user:<id>", "guild:<id>" or "self"
  scope: "user" | "guild" | "self";
  guild_id: Snowflake | null;
  user_id: Snowflake | null;
  subject: string;
  fact: string;
  type: string;
  confidence: number;
  learned_in_dm: boolean;
  active: boolean; // false: archived (kept, never recalled)
  created_at: string;
  updated_at: string;
}

export interface MemoryOwner {
  owner: string;
  facts: number;
}

export interface MemoryFacts {
  owners: MemoryOwner[]; // most recently updated first
  facts: MemoryFact[]; // newest update first
  search: "fts5" | null;
}

export interface MemoryForgotten {
  id: number;
  owner: string;
}

export interface MemoryPurged {
  owner: string;
  deleted: number;
}
