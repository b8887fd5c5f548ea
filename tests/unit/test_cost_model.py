"""The cost model's arithmetic (bench/cost_model.py) and the documents a write reply counts
(shared/database_metrics.py): pure, no servers."""

from __future__ import annotations

from bench.cost_model import ServiceCounts, Snapshot, cost_table, port_of
from shared.database_metrics import documents_written


def test_documents_written_count_what_changed_not_what_matched() -> None:
    assert documents_written("insert", {"n": 3, "ok": 1}) == 3
    assert documents_written("update", {"n": 4, "nModified": 1, "ok": 1}) == 1
    upserted = {"n": 2, "nModified": 1, "upserted": [{"index": 1, "_id": "x"}]}
    assert documents_written("update", upserted) == 2
    assert documents_written("update", {"n": 2, "ok": 1}) == 2  # no nModified: n
    assert documents_written("delete", {"n": 2}) == 2
    changed = {"lastErrorObject": {"n": 1, "updatedExisting": True}, "value": {"_id": "a"}}
    assert documents_written("findAndModify", changed) == 1
    assert documents_written("findAndModify", {"lastErrorObject": {"n": 0}, "value": None}) == 0
    assert documents_written("find", {"n": 5}) == 0


def snapshot(at: float, commands: float, written: float, cpu: float, records: int) -> Snapshot:
    counts = ServiceCounts(
        commands={("find", "cases"): commands, ("insert", "cases"): commands / 2},
        written={("insert", "cases"): written},
        cpu_seconds=cpu,
    )
    return Snapshot(
        at=at,
        services={"support": counts},
        offsets={"case.events": records},
        servers={"FerretDB": cpu * 2, "Kafka": None},
        own_cpu=cpu / 4,
    )


def test_the_table_is_per_alert_with_the_idle_pollers_beside() -> None:
    idle = (snapshot(0, 0, 0, 0, 0), snapshot(10, 10, 0, 1, 0))  # 1 find/s, 0.5 insert/s
    before = snapshot(10, 10, 0, 1, 0)
    after = snapshot(110, 1010, 1000, 11, 2000)  # 100 s, 1,000 alerts
    lines = cost_table(before, after, 1000, idle, "settled")
    support = next(line for line in lines if line.strip().startswith("support"))
    # 1,500 commands, of which 150 idle polling; 1,000 documents; 10 CPU s per 1,000 alerts.
    assert support.split()[1:5] == ["1.50", "0.15", "1.00", "(1.00"]
    assert support.split()[-1] == "10.00"
    assert any("FerretDB" in line and line.endswith("20.00") for line in lines)
    assert any("Kafka" in line and "n/a" in line for line in lines)
    assert any("case.events" in line and line.endswith("2.00") for line in lines)
    assert any("find" in line and "cases" in line and "(idle 0.10)" in line for line in lines)


def test_ports_of_the_servers_addresses() -> None:
    assert port_of("127.0.0.1:51783") == 51783
    assert port_of("mongodb://user:pw@127.0.0.1:56177/?tls=false") == 56177
    assert port_of("mongodb+srv://cluster.example") is None
