"""Checks shared by the clankvox command and event structs.

clankvox parses ids as u64 and counters as u32; a value it would reject fails a whole stdin line
far away from the code that built it, so the structs check at construction and say which field.
"""

from __future__ import annotations

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1


def check_snowflake(owner: str, field: str, value: str) -> None:
    """Raise ValueError unless `value` is a decimal u64 string, as clankvox parses ids."""
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        raise ValueError(
            f"{owner}.{field} must be a decimal Discord id such as '123456789012345678', "
            f"got {value!r}"
        )
    if int(value) > U64_MAX:
        raise ValueError(f"{owner}.{field} does not fit in 64 bits: {value!r}")


def check_u32(owner: str, field: str, value: int) -> None:
    """Raise ValueError unless `value` is an integer in clankvox's u32 range."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U32_MAX:
        raise ValueError(f"{owner}.{field} must be an integer in 0..{U32_MAX}, got {value!r}")
