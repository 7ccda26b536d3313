"""`benchmarks/voice_turn.py`: its percentile, and a tiny real run of the whole voice path (the
sandbox DAVE call, the real clankvox, the tree on llmsim; one turn of each kind, no warm-up).
The real clock: no figure is asserted beyond its being consistent."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_voice_turn", ROOT / "benchmarks" / "voice_turn.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load()


def test_pct_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 21)]
    assert [bench.pct(samples, q) for q in (0.5, 0.9, 0.99, 1.0)] == [10.0, 18.0, 20.0, 20.0]
    assert bench.pct([3.0], 0.5) == 3.0


async def test_one_turn_of_each_kind(capsys: pytest.CaptureFixture[str]) -> None:
    result = await bench.run(1, 1, 1, warm_up=False)
    assert (result["overhead_n"], result["local_turn_n"], result["bargein_n"]) == (1, 1, 1)
    # the bot cannot answer before the end-of-turn wait, nor stop before her speech counted
    assert result["overhead_p50_ms"] > -result["vad_stop_ms"]
    assert result["local_turn_p50_ms"] > result["vad_stop_ms"]
    assert result["bargein_p50_ms"] > 0
    assert result["pipecat_ratio"] is None
    assert 0 < result["clankvox_cpu_percent"] < result["session_cpu_percent"]
    printed = capsys.readouterr().out
    assert "barge-in: speech confirmed -> bot audio stops" in printed


async def test_pipecat_peer_without_pipecat_says_how_to_get_it(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """The comparison's script under a python without Pipecat (this one: the product's
    environment never has it) ends before it is ready, naming the command that builds its
    environment; voice_turn.py stops with an error saying so rather than a null ratio."""
    with pytest.raises(RuntimeError, match=r"pipecat_turn\.py exited with 1"):
        async with bench.open_pipecat(Path(sys.executable), "http://127.0.0.1:9"):
            raise AssertionError("a peer without Pipecat said it was ready")
    assert "scripts/pipecat-env" in capfd.readouterr().err


async def test_no_pipecat_python_no_peer() -> None:
    async with bench.open_pipecat(None, "http://127.0.0.1:9") as peer:
        assert peer is None
