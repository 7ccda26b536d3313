// The settings editor: generated from the schema, validated as you type, saved as a merge patch
// with compare-and-swap. A conflict (someone saved first) shows their version and lets you
// re-apply your edits on top of it or drop them.

import { useEffect, useMemo, useState } from "react";
import { ApiFailure, api } from "../api/client";
import type { FieldError, JsonObject, JsonValue, SettingsConflictBody, SettingsView as Settings } from "../api/types";
import { SchemaForm } from "../settings/SchemaForm";
import { mergePatch, setAt, validate } from "../settings/schema";

function byPath(errors: FieldError[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const e of errors) map.set(e.path, [...(map.get(e.path) ?? []), e.message]);
  return map;
}

function applyPatch(target: JsonValue, patch: JsonValue): JsonValue {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const base: JsonObject = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete base[key];
    else base[key] = applyPatch(base[key] ?? null, value);
  }
  return base;
}

export function SettingsView() {
  const [base, setBase] = useState<Settings | null>(null);
  const [draft, setDraft] = useState<JsonObject | null>(null);
  const [serverErrors, setServerErrors] = useState<FieldError[]>([]);
  const [conflict, setConflict] = useState<Settings | null>(null);
  const [status, setStatus] = useState<string>("");
  const [busy, setBusy] = useState(false);

  const load = async () => {
    const settings = await api.get<Settings>("/api/settings");
    setBase(settings);
    setDraft(settings.document);
    setServerErrors([]);
    setConflict(null);
  };
  useEffect(() => {
    load().catch((e: Error) => setStatus(`Could not load settings: ${e.message}`));
  }, []);

  const localErrors = useMemo(
    () => (base && draft ? validate(base.schema, base.schema, draft) : []),
    [base, draft],
  );
  const patch = base && draft ? mergePatch(base.document, draft) : undefined;
  const errors = byPath([...localErrors, ...serverErrors]);

  if (!base || !draft) return <section className="panel">{status || "Loading settings…"}</section>;

  const save = async () => {
    if (patch === undefined) return;
    setBusy(true);
    setStatus("");
    try {
      const saved = await api.put<Settings>("/api/settings", { expected_version: base.version, patch });
      setBase(saved);
      setDraft(saved.document);
      setServerErrors([]);
      setStatus(`Saved: version ${saved.version}.`);
    } catch (e) {
      if (e instanceof ApiFailure && e.status === 409) {
        setConflict((e.body as unknown as SettingsConflictBody).current);
        setStatus("");
      } else if (e instanceof ApiFailure && e.status === 422) {
        setServerErrors(e.body.errors ?? []);
        setStatus(e.message);
      } else {
        setStatus(`Save failed: ${(e as Error).message}`);
      }
    } finally {
      setBusy(false);
    }
  };

  const keepMine = () => {
    if (!conflict) return;
    setBase(conflict);
    setDraft(applyPatch(conflict.document, patch ?? {}) as JsonObject);
    setConflict(null);
    setStatus(`Your edits are now on top of version ${conflict.version}; review and save.`);
  };
  const takeTheirs = () => {
    if (!conflict) return;
    setBase(conflict);
    setDraft(conflict.document);
    setConflict(null);
    setStatus(`Loaded version ${conflict.version}.`);
  };

  return (
    <section className="panel settings" data-testid="settings-view">
      <header className="panel-head">
        <h2>Settings</h2>
        <span className="muted" data-testid="settings-version">
          version {base.version}
          {base.updated_at ? ` · saved ${new Date(base.updated_at).toLocaleString()}` : " · defaults"}
        </span>
      </header>
      {conflict ? (
        <div className="banner warn" data-testid="settings-conflict">
          <strong>Someone saved version {conflict.version} while you were editing.</strong>
          <div className="banner-actions">
            <button onClick={keepMine}>Re-apply my edits on top</button>
            <button className="secondary" onClick={takeTheirs}>Discard mine, load theirs</button>
          </div>
        </div>
      ) : null}
      <SchemaForm
        root={base.schema}
        document={draft}
        errors={errors}
        onChange={(keys, value) => {
          setDraft(setAt(draft, keys, value) as JsonObject);
          setServerErrors([]);
        }}
      />
      <footer className="form-actions">
        <button
          data-testid="settings-save"
          disabled={busy || patch === undefined || localErrors.length > 0 || conflict !== null}
          onClick={save}
        >
          Save
        </button>
        <button className="secondary" disabled={busy || patch === undefined} onClick={() => { setDraft(base.document); setServerErrors([]); }}>
          Revert
        </button>
        <span className="muted">
          {localErrors.length ? `${localErrors.length} field${localErrors.length > 1 ? "s" : ""} to fix` : patch === undefined ? "No changes" : "Unsaved changes"}
        </span>
        <span data-testid="settings-status" className="status">{status}</span>
      </footer>
    </section>
  );
}
