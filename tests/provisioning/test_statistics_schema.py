"""Nothing that could identify a customer can exist on the statistics' way: the session's record in the kiosk,
the kiosk-link messages to the agent and the published document carry only the contract's fields
(docs/statistics.md), and none of them is free text. Adding a field means adding it here, in the contract
and in the model, on purpose."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kiosk.session import Outcome, SessionRecord, Usage
from kiosk.stats import CallSummary
from provisioning import kiosk_link, stats_model

#: Every field of each kiosk → agent statistics message, and nothing else.
LINK_FIELDS: dict[type[BaseModel], set[str]] = {
    kiosk_link.SessionReport: {
        "op", "day", "hour", "outcome", "producer", "queue", "wait_s", "duration_s", "rating", "quality", "usage",
    },
    kiosk_link.SessionQuality: {"bitrate_kbps", "fps", "loss_pct", "rtt_ms"},
    kiosk_link.SessionUsage: {
        "language", "identify_asked", "identify_succeeded", "identify_failed", "scans", "scan_pages", "prints",
        "print_pages", "interpreter_joined", "text_used", "speech_used", "large_text_used",
    },
    kiosk_link.Fault: {"op", "day", "device", "reason"},
    kiosk_link.Minutes: {"op", "day", "open", "out_of_service", "offline"},
    kiosk_link.Hello: {"op", "software", "version", "timezone"},
}  # fmt: skip

#: Every key the published document may hold (docs/statistics.md, "The wire"), apart from the ids, dates,
#: device names and fault codes used as keys.
DOCUMENT_KEYS = {
    "version", "point", "timezone", "buckets_s", "days", "queues", "producer", "queue", "outcomes", "served",
    "abandoned", "queue_timeout", "closed", "connection_lost", "technical_failure", "wait_hist", "wait_s_sum",
    "answered_within_300s", "abandoned_wait_hist", "duration_hist", "duration_s_sum", "ratings", "1", "2", "3",
    "4", "5", "none", "quality", "calls", "bitrate_kbps_hist", "fps_hist", "loss_pct_hist", "rtt_ms_hist",
    "left_before_choosing", "hours", "usage", "language", "fi", "sv", "en", "identify", "asked", "succeeded",
    "failed", "scans", "scan_pages", "prints", "print_pages", "interpreter_joined", "text_used", "speech_used",
    "large_text_used", "faults", "minutes", "open", "out_of_service", "offline",
}  # fmt: skip

RECORD_FIELDS = {"outcome", "started", "producer", "queue", "waited_s", "call_s", "rating", "usage", "quality"}
USAGE_FIELDS = {
    "language", "identify_asked", "identify_succeeded", "identify_failed", "scans", "scan_pages", "prints",
    "print_pages", "interpreter_joined", "text_used", "speech_used", "large_text_used",
}  # fmt: skip


def wire_names(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def nested_models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """``model`` and every model its fields hold (in lists, dicts, unions)."""
    found = {model}

    def walk(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in found:
            found.add(tp)
            for info in tp.model_fields.values():
                walk(info.annotation)
        for arg in typing.get_args(tp):
            walk(arg)

    for info in model.model_fields.values():
        walk(info.annotation)
    return found


def is_free_text(info: FieldInfo) -> bool:
    """A ``str`` field that is neither a closed set of values nor held to a pattern."""
    annotation = info.annotation

    def has_str(tp: Any) -> bool:
        return tp is str or any(has_str(a) for a in typing.get_args(tp) if typing.get_origin(tp) is not typing.Literal)

    if not has_str(annotation):
        return False
    pattern = any(getattr(m, "pattern", None) for m in info.metadata)
    return not pattern


def test_the_kiosk_link_statistics_messages_carry_only_the_contracts_fields_and_no_free_text() -> None:
    for model, allowed in LINK_FIELDS.items():
        assert wire_names(model) == allowed, model.__name__
        assert model.model_config.get("extra") == "forbid", model.__name__
        free = [name for name, info in model.model_fields.items() if is_free_text(info) and name != "software"]
        assert free == [], f"{model.__name__}: free text in {free}"
    # Counts are bounded: a session is one visit, not a batch.
    bounded = [
        name for name, info in kiosk_link.SessionUsage.model_fields.items()
        if info.annotation is int and not any(isinstance(m, annotated_types.Le) for m in info.metadata)
    ]  # fmt: skip
    assert bounded == []


def test_the_kiosk_link_outcomes_are_the_contracts_outcomes() -> None:
    link = set(typing.get_args(kiosk_link.SessionOutcome))
    assert link == {*stats_model.OUTCOMES, "left_before_choosing"}
    assert {o.value for o in Outcome} == link
    assert set(typing.get_args(kiosk_link.Fault.model_fields["device"].annotation)) == set(stats_model.DEVICES)


def test_the_published_document_holds_only_the_contracts_keys() -> None:
    keys: set[str] = set()
    for model in nested_models(stats_model.StatsDocument):
        keys |= wire_names(model)
    assert keys <= DOCUMENT_KEYS, keys - DOCUMENT_KEYS


def test_the_sessions_record_in_the_kiosk_holds_nothing_of_the_customer() -> None:
    assert {f.name for f in dataclasses.fields(SessionRecord)} == RECORD_FIELDS
    assert {f.name for f in dataclasses.fields(Usage)} == USAGE_FIELDS
    assert {f.name for f in dataclasses.fields(CallSummary)} == {"bitrate_kbps", "fps", "loss_pct", "rtt_ms"}
