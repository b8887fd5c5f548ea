"""Where the real Kafka and MongoDB-wire database come from, in order of preference:

1. HEARTH_KAFKA and HEARTH_MONGO_URL naming running servers -> used as they are;
2. a Docker engine that answers -> testcontainers with the real images (Kafka KRaft, MongoDB 7);
3. otherwise -> the project's own local stack: Apache Kafka from Maven Central and FerretDB
   built from the Go module proxy, started here on free ports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from devstack.stack import LocalStack
from devstack.toolchain import say

KAFKA_IMAGE = "apache/kafka:4.1.1"
MONGO_IMAGE = "mongo:7.0"


@dataclass
class Infrastructure:
    kafka: str
    mongo_url: str
    origin: str  # external | docker | local
    handle: Any = None  # LocalStack when origin is local (fault tests restart its parts)


def docker_answers() -> bool:
    if not shutil.which("docker") or os.environ.get("HEARTH_NO_DOCKER"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@contextmanager
def provide_infrastructure(name: str = "tests") -> Iterator[Infrastructure]:
    kafka, mongo = os.environ.get("HEARTH_KAFKA"), os.environ.get("HEARTH_MONGO_URL")
    if kafka and mongo:
        say(f"using running servers: Kafka {kafka}, MongoDB {mongo}")
        yield Infrastructure(kafka, mongo, "external")
        return
    if docker_answers():
        from testcontainers.community.kafka import KafkaContainer
        from testcontainers.community.mongodb import MongoDbContainer

        say("Docker answers: starting Kafka and MongoDB with testcontainers")
        with (
            KafkaContainer(KAFKA_IMAGE).with_kraft() as kafka_container,
            MongoDbContainer(MONGO_IMAGE) as mongo_container,
        ):
            yield Infrastructure(
                kafka_container.get_bootstrap_server(),
                mongo_container.get_connection_url(),
                "docker",
            )
        return
    stack = LocalStack.create(f"{name}-{os.getpid()}")
    stack.start()
    try:
        yield Infrastructure(stack.kafka.bootstrap, stack.ferretdb.url, "local", stack)
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
