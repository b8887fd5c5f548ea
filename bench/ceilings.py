"""Ceilings of the raw clients on this machine: what Hearth's pipeline is measured against.

    .venv/bin/python -m bench.ceilings [--messages N] [--runs R]

Prints medians over R runs: aiokafka produce, consume and consume->produce rates (acks=all,
idempotent producer, as the services use it) and PyMongo insert_many on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from pymongo import AsyncMongoClient

from bench.common import kafka_options, machine, median, print_table, real_stack

PAYLOAD = b"x" * 300  # about the size of one arrears alert event


async def create_topic(kafka: dict[str, Any], name: str, partitions: int = 6) -> None:
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


def producer(kafka: dict[str, Any]) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **kafka,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


async def produce_rate(kafka: dict[str, Any], topic: str, count: int) -> float:
    async with producer(kafka) as sender:
        started = time.perf_counter()
        futures = [
            await sender.send(topic, PAYLOAD, key=str(i % 1000).encode()) for i in range(count)
        ]
        await asyncio.gather(*futures)
        return count / (time.perf_counter() - started)


async def consume_rate(
    kafka: dict[str, Any], topic: str, count: int, forward_to: str | None = None
) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        **kafka,
        group_id=f"bench-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=2000,
    )
    await consumer.start()
    sender = producer(kafka) if forward_to else None
    if sender:
        await sender.start()
    try:
        seen = 0
        started = None
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=2000)
            if started is None and batch:
                started = time.perf_counter()
            futures = []
            for records in batch.values():
                seen += len(records)
                if sender:
                    for record in records:
                        futures.append(await sender.send(forward_to, record.value, key=record.key))
            if futures:
                await asyncio.gather(*futures)
            if batch:
                await consumer.commit()
        return count / (time.perf_counter() - (started or time.perf_counter()))
    finally:
        await consumer.stop()
        if sender:
            await sender.stop()


async def insert_rate(mongo_url: str, count: int, batch: int = 1000) -> float:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongo_url)
    collection = client["bench_ceilings"][f"inserts_{uuid.uuid4().hex[:6]}"]
    try:
        docs = [
            {"_id": f"{i}", "tenancy_id": f"ha:{i}", "balance": i * 1.5, "note": "x" * 200}
            for i in range(count)
        ]
        started = time.perf_counter()
        for start in range(0, count, batch):
            await collection.insert_many(docs[start : start + batch], ordered=False)
        return count / (time.perf_counter() - started)
    finally:
        await collection.drop()
        await client.close()


async def measure(
    kafka: dict[str, Any], mongo_url: str, messages: int, runs: int
) -> dict[str, float]:
    results: dict[str, list[float]] = {"produce": [], "consume": [], "relay": [], "insert": []}
    for _ in range(runs):
        source, sink = f"bench.{uuid.uuid4().hex[:8]}", f"bench.{uuid.uuid4().hex[:8]}"
        await create_topic(kafka, source)
        await create_topic(kafka, sink)
        results["produce"].append(await produce_rate(kafka, source, messages))
        results["consume"].append(await consume_rate(kafka, source, messages))
        results["relay"].append(await consume_rate(kafka, source, messages, forward_to=sink))
        results["insert"].append(await insert_rate(mongo_url, min(messages, 50_000)))
    return {name: median(values) for name, values in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with real_stack() as infra:
        figures = asyncio.run(
            measure(kafka_options(infra), infra.mongo_url, args.messages, args.runs)
        )
    print_table(
        f"Ceilings (median of {args.runs} runs, {args.messages} messages of 300 B; {machine()})",
        [
            ("aiokafka produce (acks=all, idempotent)", f"{figures['produce']:,.0f} msg/s"),
            ("aiokafka consume", f"{figures['consume']:,.0f} msg/s"),
            ("aiokafka consume->produce", f"{figures['relay']:,.0f} msg/s"),
            ("PyMongo insert_many (1000/batch)", f"{figures['insert']:,.0f} docs/s"),
        ],
    )


if __name__ == "__main__":
    main()
