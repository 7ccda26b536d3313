"""The settings model: defaults, validation errors with field paths, patches, presets, schema,
and the lenient loading of a stored value."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clanker.settings import (
    PRESETS,
    Activity,
    Settings,
    SettingsError,
    apply_patch,
    diff_settings,
    encode_document,
    load_document,
    parse_settings,
    parse_settings_json,
    preset_settings,
    revalidate,
    settings_json_schema,
    settings_to_browser,
)
from clanker.settings.patch import settings_data

BIG_ID = 1_234_567_890_123_456_789


def problems_of(data: Any) -> list[str]:
    with pytest.raises(SettingsError) as info:
        parse_settings(data)
    return [str(p) for p in info.value.problems]


def test_defaults_are_the_documented_numbers() -> None:
    s = Settings()
    assert s.identity.bot_name == "clanker"
    assert s.permissions.max_messages_per_hour == 20
    assert s.permissions.max_reactions_per_hour == 24
    assert s.activity.min_gap_seconds == 5.0
    assert s.activity.coalesce_window_seconds == 6.0
    assert s.activity.coalesce_grace_seconds == 1.0
    assert s.activity.coalesce_max_messages == 6
    assert s.activity.ambient_reply_eagerness == 20
    assert s.activity.response_window_eagerness == 55
    assert s.reply_generation.temperature == 1.0
    assert s.reply_generation.max_output_tokens == 2500
    assert s.reply_generation.context_messages == 35
    # The empty document means the defaults, and the defaults are valid.
    assert parse_settings({}) == s
    assert revalidate(s) == s


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"activity": {"min_gap_seconds": -3}},
            "activity.min_gap_seconds: must be >= 0, got -3",
        ),
        (
            {"activity": {"coalesce_window_seconds": 21}},
            "activity.coalesce_window_seconds: must be <= 20, got 21",
        ),
        (
            {"activity": {"coalesce_grace_seconds": -0.5}},
            "activity.coalesce_grace_seconds: must be >= 0, got -0.5",
        ),
        (
            {"activity": {"coalesce_grace_seconds": 20.5}},
            "activity.coalesce_grace_seconds: must be <= 20, got 20.5",
        ),
        (
            {"activity": {"coalesce_max_messages": 0}},
            "activity.coalesce_max_messages: must be >= 1, got 0",
        ),
        (
            {"activity": {"ambient_reply_eagerness": 2.5}},
            "activity.ambient_reply_eagerness: must be a whole number, got 2.5",
        ),
        (
            {"activity": {"min_gap_seconds": "5"}},
            "activity.min_gap_seconds: must be a number, got '5'",
        ),
        (
            {"permissions": {"allow_replies": "yes"}},
            "permissions.allow_replies: must be true or false, got 'yes'",
        ),
        (
            {"permissions": {"max_messages_per_hour": 501}},
            "permissions.max_messages_per_hour: must be <= 500, got 501",
        ),
        (
            {"permissions": {"blocked_user_ids": [5, "abc"]}},
            "permissions.blocked_user_ids[1]: must be a Discord id (digits only), got 'abc'",
        ),
        (
            {"permissions": {"blocked_user_ids": [0]}},
            "permissions.blocked_user_ids[0]: must be >= 1, got 0",
        ),
        (
            {"permissions": {"blocked_user_ids": 5}},
            "permissions.blocked_user_ids: must be a list, got an integer 5",
        ),
        ({"identity": {"bot_name": "   "}}, "identity.bot_name: must not be blank"),
        (
            {"identity": {"bot_name": "x" * 33}},
            "identity.bot_name: must be at most 32 characters, got 33",
        ),
        (
            {"reply_generation": {"provider": "Open AI"}},
            "reply_generation.provider: must match ^[a-z][a-z0-9_-]{0,31}$, got 'Open AI'",
        ),
        (
            {"reply_generation": {"temperature": float("nan")}},
            "reply_generation.temperature: must be a finite number, got nan",
        ),
        (
            {"activity": {"min_gap_secs": 3}},
            "activity.min_gap_secs: is not a setting (did you mean 'min_gap_seconds'?); known "
            "here: ambient_reply_eagerness, response_window_eagerness, reactivity, "
            "min_gap_seconds, coalesce_window_seconds, catch_up_lookback_hours, "
            "catch_up_replies_per_channel, coalesce_grace_seconds, coalesce_max_messages",
        ),
        ({"activity": []}, "activity: must be an object, got a list"),
        ([], "(settings): must be an object, got a list"),
    ],
)
def test_each_problem_names_its_field_path_and_the_value(data: Any, expected: str) -> None:
    assert problems_of(data) == [expected]


def test_every_problem_is_reported_at_once() -> None:
    found = problems_of(
        {
            "activity": {"min_gap_seconds": -1, "reactivity": 101},
            "identity": {"aliases": ["ok", ""]},
            "nonsense": True,
        }
    )
    assert [p.split(":")[0] for p in found] == [
        "activity.min_gap_seconds",
        "activity.reactivity",
        "identity.aliases[1]",
        "nonsense",
    ]
    with pytest.raises(SettingsError, match=r"invalid settings: activity\.min_gap_seconds"):
        parse_settings({"activity": {"min_gap_seconds": -1}})


def test_json_text_that_is_not_json_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="is not valid JSON"):
        parse_settings_json("{nope")
    assert parse_settings_json('{"activity": {"min_gap_seconds": 2}}').activity.min_gap_seconds == 2


def test_ids_arrive_as_numbers_or_digit_strings_and_leave_as_strings_for_browsers() -> None:
    s = parse_settings({"permissions": {"blocked_user_ids": [str(BIG_ID), 7]}})
    assert s.permissions.blocked_user_ids == (BIG_ID, 7)
    browser = settings_to_browser(s)
    assert browser["permissions"]["blocked_user_ids"] == [str(BIG_ID), "7"]
    assert browser["activity"]["min_gap_seconds"] == 5.0  # only ids become strings
    # And what the browser sends back parses to the same settings.
    assert parse_settings(browser) == s


def test_json_schema_serves_a_form_with_bounds_defaults_help_and_string_ids() -> None:
    schema = settings_json_schema()
    defs = schema["$defs"]
    gap = defs["Activity"]["properties"]["min_gap_seconds"]
    assert gap["minimum"] == 0 and gap["maximum"] == 3600 and gap["default"] == 5.0
    assert "between two replies" in gap["description"]
    ids = defs["Permissions"]["properties"]["blocked_user_ids"]
    assert ids["items"]["type"] == "string" and ids["items"]["pattern"] == "^[1-9][0-9]{0,18}$"
    assert defs["Settings"]["additionalProperties"] is False
    # Every field of every section carries help text for the form.
    sections = ("Identity", "Persona", "Permissions", "Activity", "ReplyGeneration", "Tools")
    for name in (*sections, "Voice", "SpeechRecognition", "SpeechSynthesis"):
        for field, spec in defs[name]["properties"].items():
            assert spec.get("description"), f"{name}.{field} has no description"
    msgspec.json.encode(schema)  # it is JSON


def test_patch_merges_objects_replaces_lists_and_null_resets_to_the_base() -> None:
    s = apply_patch(Settings(), {"activity": {"min_gap_seconds": 9}, "permissions": {}})
    assert s.activity.min_gap_seconds == 9.0
    assert s.activity.coalesce_window_seconds == 6.0  # untouched sibling
    s = apply_patch(s, {"permissions": {"blocked_user_ids": [1, 2]}})
    s = apply_patch(s, {"permissions": {"blocked_user_ids": [3]}})
    assert s.permissions.blocked_user_ids == (3,)
    quiet = preset_settings("quiet")
    reset = apply_patch(s, {"activity": {"min_gap_seconds": None}}, base=quiet)
    assert reset.activity.min_gap_seconds == quiet.activity.min_gap_seconds == 10.0
    whole = apply_patch(s, {"activity": None})
    assert whole.activity == Activity()


def test_a_bad_patch_is_refused_whole_and_names_the_fields() -> None:
    with pytest.raises(SettingsError) as info:
        apply_patch(Settings(), {"activity": {"min_gap_seconds": -3, "reactivity": 50}})
    assert [str(p) for p in info.value.problems] == [
        "activity.min_gap_seconds: must be >= 0, got -3"
    ]
    with pytest.raises(SettingsError, match="a patch must be a JSON object, got list"):
        apply_patch(Settings(), [])


def test_presets_differ_from_each_other_in_the_documented_direction() -> None:
    assert list(PRESETS) == ["quiet", "default", "chatty"]
    quiet, default, chatty = (preset_settings(n) for n in PRESETS)
    assert default == Settings()
    assert not quiet.permissions.allow_unsolicited_replies
    assert (
        quiet.permissions.max_messages_per_hour
        < default.permissions.max_messages_per_hour
        < chatty.permissions.max_messages_per_hour
    )
    assert (
        quiet.activity.ambient_reply_eagerness
        < default.activity.ambient_reply_eagerness
        < chatty.activity.ambient_reply_eagerness
    )
    assert quiet.activity.min_gap_seconds > default.activity.min_gap_seconds
    assert chatty.activity.min_gap_seconds < default.activity.min_gap_seconds
    with pytest.raises(KeyError, match="no preset named 'loud'; presets: quiet, default"):
        preset_settings("loud")


_patch_values = st.fixed_dictionaries(
    {},
    optional={
        "activity": st.fixed_dictionaries(
            {},
            optional={
                "min_gap_seconds": st.floats(0, 3600),
                "coalesce_max_messages": st.integers(1, 60),
                "reactivity": st.integers(0, 100),
            },
        ),
        "permissions": st.fixed_dictionaries(
            {},
            optional={
                "blocked_user_ids": st.lists(st.integers(1, 2**63 - 1), max_size=5),
                "allow_replies": st.booleans(),
            },
        ),
        "identity": st.fixed_dictionaries(
            {}, optional={"bot_name": st.sampled_from(["bob", "clanker", "zed"])}
        ),
    },
)


@settings(max_examples=200, deadline=None)
@given(patch=_patch_values, preset=st.sampled_from(list(PRESETS)))
def test_diff_is_the_minimal_patch_back_to_the_same_settings(
    patch: dict[str, Any], preset: str
) -> None:
    base = preset_settings(preset)
    target = apply_patch(base, patch)
    diff = diff_settings(base, target)
    assert apply_patch(base, diff) == target
    # Minimal: every key in the diff really differs from the base.
    base_data = settings_data(base)
    for section, values in diff.items():
        for key, value in values.items():
            assert base_data[section][key] != value
    # And the stored document round-trips exactly.
    assert load_document(encode_document(preset, target)).settings == target


def test_stored_document_keeps_only_the_overrides() -> None:
    s = apply_patch(preset_settings("chatty"), {"activity": {"min_gap_seconds": 3}})
    doc = msgspec.json.decode(encode_document("chatty", s))
    assert doc == {"preset": "chatty", "overrides": {"activity": {"min_gap_seconds": 3.0}}}
    loaded = load_document(msgspec.json.encode(doc).decode())
    assert loaded.settings == s and loaded.preset == "chatty" and loaded.problems == ()


def test_a_never_written_setting_loads_the_defaults() -> None:
    loaded = load_document(None)
    assert loaded.settings == Settings() and loaded.preset == "default" and not loaded.problems


@pytest.mark.parametrize(
    ("stored", "paths", "check"),
    [
        ("not json", [""], lambda s: s == Settings()),
        ("[1, 2]", [""], lambda s: s == Settings()),
        ('{"preset": "loud"}', ["preset"], lambda s: s == Settings()),
        (
            '{"preset": "quiet", "overrides": {"activity": {"min_gap_seconds": -1, '
            '"reactivity": 3}, "nonsense": 1}}',
            ["activity.min_gap_seconds", "nonsense"],
            lambda s: s.activity.reactivity == 3 and s.activity.min_gap_seconds == 10.0,
        ),
        (
            '{"overrides": {"permissions": {"blocked_user_ids": [5, "x"], '
            '"max_messages_per_hour": 7}}}',
            ["permissions.blocked_user_ids[1]"],
            lambda s: (
                s.permissions.blocked_user_ids == () and s.permissions.max_messages_per_hour == 7
            ),
        ),
        ('{"overrides": 5, "extra": 1}', ["extra", "overrides"], lambda s: s == Settings()),
    ],
)
def test_a_damaged_stored_value_loads_what_it_can_and_reports_the_rest(
    stored: str, paths: list[str], check: Any
) -> None:
    loaded = load_document(stored)
    assert check(loaded.settings)
    assert [p.path for p in loaded.problems] == paths
    assert all(p.problem.startswith("stored value ignored: ") for p in loaded.problems)


def test_importing_the_model_does_not_import_trio() -> None:
    code = (
        "import sys, clanker.settings, clanker.text; "
        "assert 'trio' not in sys.modules, sorted(m for m in sys.modules if 'trio' in m)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_reference_page_documents_every_knob_and_preset() -> None:
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "settings.md").read_text()

    def knobs(node: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
        # Sections may nest (voice.asr.provider): every leaf is a knob.
        out: list[tuple[str, Any]] = []
        for key, value in node.items():
            path = f"{prefix}.{key}" if prefix else key
            out += knobs(value, path) if isinstance(value, dict) else [(path, value)]
        return out

    for path, value in knobs(settings_data(Settings()), ""):
        row = next((line for line in page.splitlines() if line.startswith(f"| `{path}` |")), None)
        assert row is not None, f"docs/settings.md has no row for {path}"
        short = isinstance(value, str) and len(value) < 40
        if isinstance(value, (bool, int, float)) or short:
            shown = msgspec.json.encode(value).decode()
            assert f"`{shown}`" in row, f"{path}: the default {shown} is not in {row}"
    for name in PRESETS:
        assert f"| `{name}` |" in page


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "activity",
                    "permissions",
                    "identity",
                    "min_gap_seconds",
                    "bot_name",
                    "blocked_user_ids",
                    "aliases",
                    "x",
                    "persona",
                    "flavor",
                    "reply_generation",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(data=json_values)
def test_any_input_gives_settings_or_a_settings_error(data: Any) -> None:
    try:
        result = parse_settings(data)
    except SettingsError as exc:
        assert exc.problems and all(p.problem for p in exc.problems)
    else:
        assert revalidate(result) == result


@settings(max_examples=150, deadline=None)
@given(overrides=json_values, preset=st.sampled_from([*PRESETS, "nope", 3]))
def test_any_stored_value_loads_without_raising(overrides: Any, preset: Any) -> None:
    stored = msgspec.json.encode({"preset": preset, "overrides": overrides}).decode()
    loaded = load_document(stored)
    assert revalidate(loaded.settings) == loaded.settings
    # What it kept is exactly what it reports as overrides on top of its preset.
    assert apply_patch(preset_settings(loaded.preset), loaded.overrides) == loaded.settings
