"""Base class of every event payload and the registry that maps a CloudEvents type to it."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

_REGISTRY: dict[str, type[EventData]] = {}


class EventData(BaseModel):
    """A versioned event payload. Subclasses set TYPE, VERSION and TOPIC (a logical topic)."""

    model_config = ConfigDict(extra="ignore")  # older readers tolerate newer fields

    TYPE: ClassVar[str]
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "TYPE" in cls.__dict__:
            _REGISTRY[event_type_name(cls)] = cls

    def subject(self) -> str:
        """The case or tenancy this event is about."""
        return str(getattr(self, "case_id"))  # noqa: B009

    def partition_key(self) -> str:
        """Keeps one subject's events in order on their topic."""
        return self.subject()


def event_type_name(model: type[EventData]) -> str:
    return f"hearth.{model.TYPE}.v{model.VERSION}"


def model_for_type(type_name: str) -> type[EventData] | None:
    return _REGISTRY.get(type_name)


def registered_types() -> dict[str, type[EventData]]:
    return dict(_REGISTRY)
