"""Secrets (API keys, the Discord token, the dashboard token) never leave through the dashboard:
not in a response, not in a stream, not in a log line."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from clanker.dashboard import DashboardAddress, GetAddress, OperatorCrash
from clanker.runtime import ActorCrashed
from clanker.store import LogAction, to_json
from tests.dashboard.conftest import SECRET, Dash


async def test_a_key_in_the_action_log_is_redacted_everywhere(
    dash: Dash, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bodies: list[str] = []
    async with dash.sse("/api/actions/stream") as stream, dash.client() as c:
        await stream.subscribed()
        await dash.store().log_action(
            LogAction(
                kind="llm_call",
                content=f"the prompt contained {SECRET}",
                metadata=to_json({"provider": "openai", "model": SECRET[:20], "key": SECRET}),
            )
        )
        event = await stream.next()
        bodies.append(event.data)
        bodies.append((await c.get("/api/actions")).text)
        bodies.append((await c.get("/api/costs")).text)
        saved = await c.put(
            "/api/settings",
            json={"expected_version": 0, "patch": {"reply_generation": {"model": SECRET}}},
        )
        assert saved.status_code == 200
        bodies.append(saved.text)
        bodies.append((await c.get("/api/settings")).text)
        # The dashboard's own token is a secret too: it is never echoed back.
        bodies.append((await c.get("/api/health")).text)
        bodies.append((await c.post("/api/auth/session", json={"token": dash.token})).text)
        # A crash whose message carries the key: the runtime logs it with its traceback.
        with pytest.raises(ActorCrashed):
            await dash.rt.lookup("worker").ask(OperatorCrash(reason=f"leaked {SECRET}"))
    action = json.loads(bodies[0])
    assert action["content"] == "the prompt contained [redacted]"
    assert action["metadata"]["key"] == "[redacted]"
    assert json.loads(bodies[4])["document"]["reply_generation"]["model"] == "[redacted]"
    for body in bodies:
        assert SECRET not in body and dash.token not in body
    assert "root/worker crashed" in caplog.text
    assert "leaked [redacted]" in caplog.text
    assert SECRET not in caplog.text and dash.token not in caplog.text
    # Stored as it was (the Store keeps what it is given); only what goes out is scrubbed.
    stored = await dash.store().get_setting("runtime_settings")
    assert stored.value is not None and SECRET in stored.value


async def test_the_generated_token_is_announced_once_and_kept_when_the_dashboard_starts_again(
    dash: Dash,
) -> None:
    assert dash.announced == [f"clanker dashboard: {dash.url}/#token={dash.token}"]
    await dash.rt.root.terminate_child("dashboard")
    await dash.rt.root.start_child(dash.parts.dashboard)
    assert len(dash.announced) == 1  # printed once per process, not per start
    url = (await dash.rt.lookup("dashboard").ask(GetAddress(), DashboardAddress)).url
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {dash.token}"}
    ) as c:
        assert (await c.get("/api/health")).status_code == 200
