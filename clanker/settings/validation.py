"""Validation: untrusted settings data in, `Settings` or every problem with its field path out.

msgspec stops at the first error and does not say which value it refused, so this module walks
the input against the model's type information (`msgspec.inspect`) itself and reports *all*
problems, each as ``<path>: <problem>, got <value>`` — e.g.
``activity.min_gap_seconds: must be >= 0, got -3`` — which a dashboard can show next to the
field. Only after the walk finds nothing does msgspec build the frozen structs.

Discord ids may arrive as decimal strings (a browser cannot hold a 64-bit id in a JSON
number); the walk turns them into ints.
"""

from __future__ import annotations

import difflib
import math
import re
from functools import cache
from typing import Any

import msgspec
from msgspec import inspect as mi

from clanker.settings.model import SNOWFLAKE_MARK, Settings

_MISSING = object()


class SettingsProblem(msgspec.Struct, frozen=True, kw_only=True):
    """One thing wrong with a settings input: where (``activity.min_gap_seconds``) and what."""

    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path or '(settings)'}: {self.problem}"


class SettingsError(ValueError):
    """The settings input was refused; ``problems`` lists every reason, each with its path."""

    def __init__(self, problems: list[SettingsProblem] | tuple[SettingsProblem, ...]) -> None:
        self.problems = tuple(problems)
        lines = "; ".join(str(p) for p in self.problems)
        super().__init__(f"invalid settings: {lines}")


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else msgspec.json.encode(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _num(x: float) -> str:
    return str(x) if isinstance(x, int) else f"{x:g}"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class _Walk:
    """One validation pass: collects problems and returns the cleaned (coerced) value."""

    def __init__(self) -> None:
        self.problems: list[SettingsProblem] = []

    def fail(self, path: str, problem: str) -> Any:
        self.problems.append(SettingsProblem(path=path, problem=problem))
        return _MISSING

    def walk(self, value: Any, t: mi.Type, path: str, extra: dict[str, Any]) -> Any:
        if isinstance(t, mi.Metadata):
            merged = {**extra, **(t.extra_json_schema or {})}
            return self.walk(value, t.type, path, merged)
        if isinstance(t, mi.StructType):
            return self.struct(value, t, path)
        if isinstance(t, mi.BoolType):
            if not isinstance(value, bool):
                return self.fail(path, f"must be true or false, got {_show(value)}")
            return value
        if isinstance(t, mi.IntType):
            return self.integer(value, t, path, snowflake=bool(extra.get(SNOWFLAKE_MARK)))
        if isinstance(t, mi.FloatType):
            return self.number(value, t, path)
        if isinstance(t, mi.StrType):
            return self.string(value, t, path)
        if isinstance(t, (mi.VarTupleType, mi.ListType)):
            return self.sequence(value, t, path)
        if isinstance(t, mi.UnionType):
            return self.union(value, t, path, extra)
        if isinstance(t, mi.NoneType):
            if value is not None:
                return self.fail(path, f"must be null, got {_show(value)}")
            return None
        if isinstance(t, mi.LiteralType):
            if value not in t.values:
                choices = ", ".join(str(v) for v in t.values)
                return self.fail(path, f"must be one of {choices}, got {_show(value)}")
            return value
        if isinstance(t, mi.AnyType):
            return value
        return self.fail(path, f"has a type this validator does not know ({type(t).__name__})")

    def struct(self, value: Any, t: mi.StructType, path: str) -> Any:
        if not isinstance(value, dict):
            return self.fail(path, f"must be an object, got {_kind(value)}")
        known = {f.encode_name: f for f in t.fields}
        out: dict[str, Any] = {}
        for key, item in value.items():
            where = _join(path, str(key))
            f = known.get(key) if isinstance(key, str) else None
            if f is None:
                hint = difflib.get_close_matches(str(key), list(known), n=1)
                also = f" (did you mean {hint[0]!r}?)" if hint else ""
                self.fail(where, f"is not a setting{also}; known here: {', '.join(known)}")
                continue
            cleaned = self.walk(item, f.type, where, {})
            if cleaned is not _MISSING:
                out[key] = cleaned
        return out

    def integer(self, value: Any, t: mi.IntType, path: str, *, snowflake: bool) -> Any:
        if snowflake and isinstance(value, str):
            if not re.fullmatch(r"[0-9]{1,19}", value.strip()):
                return self.fail(path, f"must be a Discord id (digits only), got {_show(value)}")
            value = int(value.strip())
        if isinstance(value, float) and value.is_integer() and not snowflake:
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            what = "a Discord id" if snowflake else "a whole number"
            return self.fail(path, f"must be {what}, got {_show(value)}")
        return self.bounds(value, t, path)

    def number(self, value: Any, t: mi.FloatType, path: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return self.fail(path, f"must be a number, got {_show(value)}")
        if not math.isfinite(value):
            return self.fail(path, f"must be a finite number, got {value}")
        checked = self.bounds(value, t, path)
        return checked if checked is _MISSING else float(checked)

    def bounds(self, value: float, t: mi.IntType | mi.FloatType, path: str) -> Any:
        if t.ge is not None and value < t.ge:
            return self.fail(path, f"must be >= {_num(t.ge)}, got {_show(value)}")
        if t.le is not None and value > t.le:
            return self.fail(path, f"must be <= {_num(t.le)}, got {_show(value)}")
        if t.gt is not None and value <= t.gt:
            return self.fail(path, f"must be > {_num(t.gt)}, got {_show(value)}")
        if t.lt is not None and value >= t.lt:
            return self.fail(path, f"must be < {_num(t.lt)}, got {_show(value)}")
        return value

    def string(self, value: Any, t: mi.StrType, path: str) -> Any:
        if not isinstance(value, str):
            return self.fail(path, f"must be text, got {_kind(value)} {_show(value)}")
        if t.min_length and not value.strip():
            return self.fail(path, "must not be blank")
        if t.min_length is not None and len(value) < t.min_length:
            return self.fail(path, f"must be at least {t.min_length} characters, got {len(value)}")
        if t.max_length is not None and len(value) > t.max_length:
            return self.fail(path, f"must be at most {t.max_length} characters, got {len(value)}")
        if t.pattern is not None and not re.search(t.pattern, value):
            return self.fail(path, f"must match {t.pattern}, got {_show(value)}")
        return value

    def sequence(self, value: Any, t: mi.VarTupleType | mi.ListType, path: str) -> Any:
        if not isinstance(value, (list, tuple)):
            return self.fail(path, f"must be a list, got {_kind(value)} {_show(value)}")
        if t.max_length is not None and len(value) > t.max_length:
            return self.fail(path, f"must have at most {t.max_length} items, got {len(value)}")
        if t.min_length is not None and len(value) < t.min_length:
            return self.fail(path, f"must have at least {t.min_length} items, got {len(value)}")
        out = []
        ok = True
        for i, item in enumerate(value):
            cleaned = self.walk(item, t.item_type, f"{path}[{i}]", {})
            ok = ok and cleaned is not _MISSING
            out.append(cleaned)
        return out if ok else _MISSING

    def union(self, value: Any, t: mi.UnionType, path: str, extra: dict[str, Any]) -> Any:
        for option in t.types:
            trial = _Walk()
            cleaned = trial.walk(value, option, path, extra)
            if not trial.problems:
                return cleaned
        return self.fail(path, f"has the wrong type: {_kind(value)} {_show(value)}")


@cache
def _settings_type() -> mi.StructType:
    t = mi.type_info(Settings)
    assert isinstance(t, mi.StructType)
    return t


_MSGSPEC_PATH = re.compile(r" - at `\$\.?(?P<path>[^`]*)`$")


def _from_msgspec(error: msgspec.ValidationError) -> SettingsProblem:
    """Last line of defence: a msgspec error (if the walk missed one) as a SettingsProblem."""
    text = str(error)
    found = _MSGSPEC_PATH.search(text)
    path = found.group("path") if found else ""
    problem = text[: found.start()] if found else text
    return SettingsProblem(path=path, problem=problem.replace("`", ""))


def check_settings_data(data: Any) -> tuple[dict[str, Any], list[SettingsProblem]]:
    """Walk ``data`` (plain JSON-like values) against the model.

    Returns the cleaned data (ids coerced to ints, refused parts left out) and every problem.
    """
    walk = _Walk()
    cleaned = walk.walk(data, _settings_type(), "", {})
    return (cleaned if isinstance(cleaned, dict) else {}), walk.problems


def parse_settings(data: Any) -> Settings:
    """`Settings` from plain data (a dict as decoded from JSON); missing keys take defaults.

    Raises `SettingsError` listing every problem with its field path.
    """
    cleaned, problems = check_settings_data(data)
    if problems:
        raise SettingsError(problems)
    try:
        return msgspec.convert(cleaned, Settings)
    except msgspec.ValidationError as exc:
        raise SettingsError([_from_msgspec(exc)]) from exc


def parse_settings_json(text: str | bytes) -> Settings:
    """`Settings` from JSON text; raises `SettingsError` (also for text that is not JSON)."""
    try:
        data = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        problem = SettingsProblem(path="", problem=f"is not valid JSON: {exc}")
        raise SettingsError([problem]) from exc
    return parse_settings(data)


def revalidate(settings: Settings) -> Settings:
    """Check a `Settings` built in code (direct construction skips the bounds checks)."""
    return parse_settings(msgspec.json.decode(msgspec.json.encode(settings)))
