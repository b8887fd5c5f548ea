"""Contracts generated from the code: AsyncAPI 3 per service (topics, messages, keys, consumer
groups) and OpenAPI per HTTP API, written under deploy/contracts/.

    .venv/bin/python -m devstack.contracts          # regenerate
    .venv/bin/python -m devstack.contracts --check  # fail if the committed files drifted

What a service consumes is read from its runtime's consumers; what it emits from the `EMITS`
tuple in `services/<name>/app.py`; message schemas from the pydantic catalogue.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from devstack.platform import API_SERVICES, available_services
from devstack.stack import REPO_ROOT
from shared.events.audit_events import AuditRecorded
from shared.events.base import EventData, event_type_name
from shared.events.envelope import HEADER_ATTRIBUTES
from shared.settings import HearthSettings
from shared.topics import Topic, topic_name

CONTRACTS_DIR = REPO_ROOT / "deploy" / "contracts"
PREFIX = "hearth."
KEY_DESCRIPTIONS = {
    Topic.TENANCY_RISK: "tenancy id (landlord organisation : keyed pseudonym of its reference)",
    Topic.CONTACTS: "person id (pseudonymous); tenancy id for TenancyReferenceShared",
    Topic.ARREARS_ALERTS: "tenancy reference",
    Topic.AUDIT: "organisation (one hash chain each)",
    Topic.OUTCOMES_HISTORY: "batch id (one organisation's imported history per record)",
}


def _settings(service: str) -> HearthSettings:
    return HearthSettings(service_name=service, topic_prefix=PREFIX, log_json=True)


def _service_module(service: str) -> Any:
    return importlib.import_module(f"services.{service}.app")


def _channel_id(topic: str) -> str:
    return "".join(part.capitalize() for part in topic.replace(".", "-").split("-"))


def _ce_headers_schema() -> dict[str, Any]:
    properties = {f"ce_{name}": {"type": "string"} for name in HEADER_ATTRIBUTES}
    properties["content-type"] = {"type": "string", "const": "application/json"}
    return {
        "type": "object",
        "description": "CloudEvents 1.0, Kafka binary mode",
        "required": [
            "ce_specversion",
            "ce_id",
            "ce_source",
            "ce_type",
            "ce_time",
            "ce_subject",
            "ce_organisation",
            "ce_correlationid",
        ],
        "properties": properties,
    }


def _message(model: type[EventData], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.pop("$defs", {}).items():
        schemas[name] = definition
    schemas[model.__name__] = schema
    topic = Topic(model.TOPIC)
    return {
        "name": model.TYPE,
        "title": f"{model.TYPE} v{model.VERSION}",
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/CloudEventsHeaders"},
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        "correlationId": {"location": "$message.header#/ce_correlationid"},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": KEY_DESCRIPTIONS.get(topic, "case id")},
                "bindingVersion": "0.5.0",
            }
        },
        "x-cloudevents-type": event_type_name(model),
    }


def asyncapi_for(service: str) -> dict[str, Any]:
    module = _service_module(service)
    runtime = module.build_runtime(_settings(service))
    schemas: dict[str, Any] = {"CloudEventsHeaders": _ce_headers_schema()}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}

    def channel(topic: str) -> dict[str, Any]:
        channel_id = _channel_id(topic.removeprefix(PREFIX))
        return channels.setdefault(
            channel_id, {"address": topic, "messages": {}, "description": f"Kafka topic {topic}"}
        )

    def add_operation(action: str, model: type[EventData], extra: dict[str, Any]) -> None:
        messages.setdefault(model.TYPE, _message(model, schemas))
        topic = topic_name(model.TOPIC, PREFIX)
        channel_id = _channel_id(topic.removeprefix(PREFIX))
        channel(topic)["messages"][model.TYPE] = {"$ref": f"#/components/messages/{model.TYPE}"}
        operations[f"{action}{model.TYPE}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{model.TYPE}"}],
            **extra,
        }

    for consumer in runtime.consumers:
        for model in consumer.handled_types().values():
            add_operation(
                "receive",
                model,
                {
                    "bindings": {
                        "kafka": {
                            "groupId": {"type": "string", "enum": [consumer.group_id]},
                            "bindingVersion": "0.5.0",
                        }
                    },
                    "description": f"Handled by consumer group {consumer.group_id}; "
                    f"failures go to {consumer.dlq_topic}",
                },
            )
    for model in getattr(module, "EMITS", ()):
        add_operation(
            "send",
            model,
            {
                "description": "Published through the transactional outbox (at least once; "
                "consumers de-duplicate by ce_id)."
            },
        )
    add_operation(
        "send",
        AuditRecorded,
        {
            "description": "Published by the HTTP layer (shared/http.py) before the response "
            "leaves, for every request that reads or changes a person's record, changes "
            "anything, or is refused (no audit entry, no answer: 503)."
        },
    )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Hearth {service} service",
            "version": "1.0.0",
            "description": (
                f"Events the {service} service consumes and emits. Topic names carry the "
                f"environment prefix (here '{PREFIX}', setting HEARTH_TOPIC_PREFIX)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:9092", "protocol": "kafka", "description": "./hearth"},
            "compose": {"host": "kafka:9092", "protocol": "kafka"},
        },
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {
            "messages": dict(sorted(messages.items())),
            "schemas": dict(sorted(schemas.items())),
        },
    }


def openapi_for(service: str) -> dict[str, Any]:
    app = _service_module(service).create_app(_settings(service))
    return app.openapi()  # type: ignore[no-any-return]


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=False, default=str) + "\n"


def generated() -> dict[Path, str]:
    files: dict[Path, str] = {}
    # The web app has no API or events of its own: it is a client of the others'.
    for service in (s for s in available_services() if s in API_SERVICES):
        files[CONTRACTS_DIR / "asyncapi" / f"{service}.json"] = render(asyncapi_for(service))
        files[CONTRACTS_DIR / "openapi" / f"{service}.json"] = render(openapi_for(service))
    return files


def drifted() -> list[Path]:
    return [
        path for path, text in generated().items() if not path.exists() or path.read_text() != text
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m devstack.contracts")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.check:
        stale = drifted()
        if stale:
            print("contracts drifted from the code; run: .venv/bin/python -m devstack.contracts")
            for path in stale:
                print(f"  {path.relative_to(REPO_ROOT)}")
            sys.exit(1)
        print("contracts match the code")
        return
    for path, text in generated().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
