"""The harness's Patcher restores exactly what it replaced, descriptors included."""

from __future__ import annotations

import types

from analytics_orchestration.testing.core.patching import Patcher


class Base:
    def inherited(self) -> str:
        return "base"


class Owner(Base):
    @staticmethod
    def static(value: str) -> str:
        return f"static {value}"

    @classmethod
    def kind(cls) -> str:
        return cls.__name__

    def method(self) -> str:
        return "method"


def test_static_class_and_plain_methods_come_back_as_they_were():
    patcher = Patcher()
    for name in ("static", "kind", "method", "inherited"):
        patcher.set(Owner, name, staticmethod(lambda *args: "patched"))
    assert Owner().static("x") == Owner().kind() == Owner().method() == "patched"
    patcher.undo()
    assert Owner().static("x") == Owner.static("x") == "static x"
    assert Owner().kind() == "Owner"
    assert Owner().method() == "method"
    assert Owner().inherited() == "base" and "inherited" not in vars(Owner)
    assert isinstance(vars(Owner)["static"], staticmethod)


def test_module_attributes_and_dict_keys_come_back():
    module = types.ModuleType("patched_module")
    module.value = 1  # type: ignore[attr-defined]
    table = {"present": 1}
    patcher = Patcher()
    patcher.set(module, "value", 2)
    patcher.set(module, "added", 3)
    patcher.set(table, "present", 2)
    patcher.set(table, "added", 3)
    patcher.undo()
    assert module.value == 1 and not hasattr(module, "added")  # type: ignore[attr-defined]
    assert table == {"present": 1}
