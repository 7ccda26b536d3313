"""``GET /api/memory/embedding`` against the real memory service and Store (a stub local
model): the model in use and its progress; 503 without the service; the token needed."""

from __future__ import annotations

from clanker.memory.service import Remember, Remembered
from tests.dashboard.conftest import Dash


async def test_it_reports_the_model_in_use_and_how_many_facts_have_its_vector(
    memory_dash: Dash,
) -> None:
    memory = memory_dash.rt.lookup("memory")
    for fact in ("loves otters", "plays chess"):
        assert isinstance(
            await memory.ask(Remember(scope="user", user_id=1001, fact=fact), timeout=5), Remembered
        )
    async with memory_dash.client() as http:
        answer = await http.get("/api/memory/embedding")
    assert answer.status_code == 200
    assert answer.json() == {
        "provider": "local",
        "model": "stub/bag-of-words",
        "label": "stub",
        "embedded": 2,
        "active": 2,
        "running": False,
        "complete": True,
        "last_error": None,
        "setting_problem": None,
        "problem": None,
    }


async def test_without_the_memory_service_it_is_a_503(dash: Dash) -> None:
    async with dash.client() as http:
        answer = await http.get("/api/memory/embedding")
    assert answer.status_code == 503
    assert answer.json()["error"] == "the memory service is not running; try again shortly"


async def test_it_needs_the_token(memory_dash: Dash) -> None:
    async with memory_dash.client(auth=False) as http:
        assert (await http.get("/api/memory/embedding")).status_code == 401
