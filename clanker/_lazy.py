"""Lazy package exports, so a package's sans-IO cores import without its IO modules.

A package ``__init__`` that re-exports names from IO modules (the actor, SQLite, subprocesses)
would make ``import clanker.voice.framing`` pull trio in through ``clanker.voice``. Instead the
package lists where each name lives and imports the submodule on first use (PEP 562); its
``if TYPE_CHECKING:`` block keeps the same imports for the type checker. ``from clanker.voice
import Clankvox`` still works and still raises ImportError for a name that is not exported.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` for ``package``: ``exports`` maps each exported
    name to the module that defines it (a submodule's own name maps to the submodule)."""

    def __getattr__(name: str) -> object:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(module_name)
        value: object = module if module_name == f"{package}.{name}" else getattr(module, name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
