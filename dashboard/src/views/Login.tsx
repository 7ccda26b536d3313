// Log in with the dashboard token; the server answers with an HttpOnly session cookie.

import { type FormEvent, useState } from "react";
import { ApiFailure, api } from "../api/client";

export function Login({ onLoggedIn, reason }: { onLoggedIn: () => void; reason?: string }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState(reason ?? "");
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await api.post("/api/auth/session", { token: token.trim() });
      onLoggedIn();
    } catch (e) {
      setError(e instanceof ApiFailure ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="login">
      <form onSubmit={submit} className="panel" data-testid="login-form">
        <h1>clanker</h1>
        <p className="muted">
          Enter the dashboard token: <code>DASHBOARD_TOKEN</code>, or the one clanker printed when it started.
        </p>
        <input
          data-testid="login-token"
          type="password"
          autoComplete="current-password"
          placeholder="token"
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button data-testid="login-submit" disabled={busy || !token.trim()}>
          Log in
        </button>
        {error ? <p className="error" data-testid="login-error">{error}</p> : null}
      </form>
    </main>
  );
}
