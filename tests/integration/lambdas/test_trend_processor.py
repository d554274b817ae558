"""The trend handler's guarantees against the emulator, one at a time: which records it
reads, what it counts, what it reports for a retry, and how the outbox and its leases decide
who publishes an alert.

Lean on purpose (a state table, a topic and one subscribed queue; a fixed clock): `make
mutation` runs these for every mutant of lambdas/trend/handler.py (docs/testing.md)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from common import aws, tables
from common.alerts import Alert
from common.settings import TrendSettings
from lambdas.trend import handler as entry
from lambdas.trend import metrics
from lambdas.trend.alerts import to_alert
from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from lambdas.trend.handler import COUNTERS, TrendProcessor
from lambdas.trend.state_store import OutboxEntry, StateStore, Stored
from stockpipe import alerts_feed
from tests.factories import NOW_MS, NOW_S
from tests.integration.lambdas.test_trend_robust import failure_queue, failures
from tests.integration.lambdas.test_trend_state_store import put_item
from tests.stream_events import FIRST_SEQUENCE, event, stream_record
from tests.unit.lambdas.test_trend_engine import bar_ticks

TABLE = "trend-state-test"
REGION = "eu-west-1"  # not the default region of the tests: the handler must use its setting
LEASE_MS = 10_000
# down 25 bars, up 25, down 25: one golden cross (BUY), one death cross (SELL)
CLOSES = (
    [100 - i * 0.5 for i in range(25)]
    + [88 + i * 1.0 for i in range(25)]
    + [112 - i * 1.5 for i in range(25)]
)


def client(service: str) -> Any:
    return aws.client(service, region=REGION)


@dataclass(frozen=True)
class Stack:
    topic_arn: str
    queue_url: str


@pytest.fixture
def stack() -> Stack:
    """The state table, the alerts topic and a queue subscribed to it (no Kinesis, no S3)."""
    dynamodb, sns, sqs = client("dynamodb"), client("sns"), client("sqs")
    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[{"AttributeName": "symbol", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "symbol", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
    return Stack(topic_arn, queue_url)


@pytest.fixture
def counted() -> Iterator[list[dict[str, int]]]:
    """The counters of every invocation, read from the metrics lines it writes."""
    documents: list[dict[str, int]] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            document = json.loads(record.getMessage())
            [spec] = document["_aws"]["CloudWatchMetrics"]
            assert (spec["Dimensions"], document["Function"]) == ([["Function"]], "trend")
            documents.append({name: document[name] for name in COUNTERS})

    handlers, level = metrics.log.handlers, metrics.log.level
    metrics.log.handlers = [Capture()]
    metrics.log.setLevel(logging.INFO)
    yield documents
    metrics.log.handlers = handlers
    metrics.log.setLevel(level)


def counts(**nonzero: int) -> dict[str, int]:
    return dict.fromkeys(COUNTERS, 0) | nonzero


def processor(
    stack: Stack, *, sns: Any = None, clock_s: float = NOW_S, **options: Any
) -> TrendProcessor:
    settings = TrendSettings(
        alerts_topic_arn=stack.topic_arn,
        trend_state_table=TABLE,
        trend_publish_lease=f"{LEASE_MS // 1000}s",
        region=REGION,
        **options,
    )
    return TrendProcessor(settings, client("dynamodb"), sns or client("sns"), clock=lambda: clock_s)


def records_for(symbol: str, closes: list[float], first: int = 1) -> list[dict[str, Any]]:
    return [stream_record(symbol, t, first + i) for i, t in enumerate(bar_ticks(closes))]


def sequences(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in records]


def engine_alerts(symbol: str, closes: list[float]) -> list[Alert]:
    """The alerts the engine alone makes of the same ticks."""
    return [to_alert(s) for s in apply(SymbolState(symbol), bar_ticks(closes), TrendConfig())]


def received(stack: Stack) -> list[Alert]:
    return alerts_feed.drain(client("sqs"), stack.queue_url)


def stored(symbol: str = "AAPL") -> Stored:
    return StateStore(client("dynamodb"), TABLE).load(symbol)


class Died(BaseException):
    """What `os._exit` raises here: the invocation stops where its failpoint is."""


@pytest.fixture
def failpoint(monkeypatch: pytest.MonkeyPatch) -> Any:
    def arm(name: str) -> None:
        monkeypatch.setenv("STOCKPIPE_FAILPOINT", name)

        def exit_(code: int) -> None:
            raise Died(code)

        monkeypatch.setattr(os, "_exit", exit_)

    return arm


class Sns:
    """The real SNS client, refusing the publishes numbered in `fail` (from 1)."""

    def __init__(self, fail: set[int]) -> None:
        self.real, self.fail, self.calls = client("sns"), fail, 0

    def publish(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls in self.fail:
            raise ConnectionError("SNS unreachable")
        return self.real.publish(**kwargs)


def test_each_crossover_is_published_once_as_the_engine_makes_it(
    stack: Stack, counted: list[dict[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    records = records_for("AAPL", CLOSES)
    with caplog.at_level(logging.INFO, logger="lambdas.trend.handler"):
        assert processor(stack).process(event(records)) == {"batchItemFailures": []}
    want = engine_alerts("AAPL", CLOSES)
    logged = [r.getMessage() for r in caplog.records if r.name == "lambdas.trend.handler"]
    assert logged == [f"alert {a.id}" for a in want]
    assert [a.signal for a in want] == ["BUY", "SELL"]
    assert [a.body() for a in received(stack)] == [a.body() for a in want]
    assert counted == [counts(Ticks=len(records), Alerts=2)]
    # one save for the ticks, then each alert removed from the outbox right after its publish
    assert stored().outbox == [] and stored().version == 3


def test_re_delivered_ticks_change_nothing_and_are_not_counted(
    stack: Stack, counted: list[dict[str, int]]
) -> None:
    records = records_for("AAPL", CLOSES)
    processor(stack).process(event(records[:120]))
    version = stored().version
    processor(stack).process(event(records[:120]))
    assert stored().version == version  # nothing new: nothing written
    processor(stack).process(event(records[100:]))
    assert [c["Ticks"] for c in counted] == [120, 0, len(records) - 120]
    assert [a.id for a in received(stack)] == [a.id for a in engine_alerts("AAPL", CLOSES)]


def test_late_ticks_are_counted_apart(stack: Stack, counted: list[dict[str, int]]) -> None:
    # GIVEN two symbols 30 bars in, then a batch with late ticks of both (3 + 2)
    ticks = bar_ticks(CLOSES[:30])
    early = ticks[0].event_time_ms
    batch = [
        stream_record(s, t, n + i)
        for s, n in (("AAPL", 0), ("MSFT", 1000))
        for i, t in enumerate(ticks)
    ]
    processor(stack).process(event(batch))
    late = [("AAPL", k) for k in range(3)] + [("MSFT", k) for k in range(2)]
    records = [
        stream_record(s, TickIn(f"late{k}", early + k, Decimal("1"), 1), 500 + i)
        for i, (s, k) in enumerate(late)
    ]
    processor(stack).process(event(records))
    # THEN the invocation counts all five, and each symbol's state its own
    assert counted[1] == counts(Ticks=5, LateTicks=5)
    assert (stored("AAPL").state.late_ticks, stored("MSFT").state.late_ticks) == (3, 2)
    # WHEN one more late tick of AAPL comes: the invocation counts it alone, not the total
    once_more = stream_record("AAPL", TickIn("late9", early + 9, Decimal("1"), 1), 600)
    processor(stack).process(event([once_more]))
    assert counted[2] == counts(Ticks=1, LateTicks=1)


def test_symbols_in_one_batch_are_folded_apart(stack: Stack) -> None:
    other = [100 + i * 0.5 for i in range(25)] + [112 - i * 1.0 for i in range(30)]
    mixed = [
        r
        for pair in zip(records_for("AAPL", CLOSES), records_for("MSFT", other, 5000), strict=False)
        for r in pair
    ]
    processor(stack).process(event(mixed))
    got = received(stack)
    assert [a.id for a in got if a.symbol == "MSFT"] == [a.id for a in engine_alerts("MSFT", other)]
    assert [a.id for a in got if a.symbol == "AAPL"] == [
        a.id for a in engine_alerts("AAPL", CLOSES)[: len([a for a in got if a.symbol == "AAPL"])]
    ]
    assert stored("MSFT").state.symbol == "MSFT" and stored("AAPL").state.symbol == "AAPL"


def test_records_that_are_not_tick_inserts_are_skipped(
    stack: Stack, counted: list[dict[str, int]]
) -> None:
    tick = bar_ticks([100.0])[0]
    latest = stream_record("AAPL", tick, 4)
    latest["dynamodb"]["NewImage"][tables.SORT_KEY] = {"S": tables.LATEST_SORT_KEY}
    skipped = [
        stream_record("AAPL", tick, 1, "MODIFY"),
        stream_record("AAPL", tick, 2, "REMOVE"),
        {"eventID": "x", "dynamodb": {"SequenceNumber": "3"}},  # no eventName
        latest,  # the latest-quote item is not a tick
        "not a record",
    ]
    assert processor(stack).process(event(skipped)) == {"batchItemFailures": []}  # type: ignore[list-item]
    assert counted == [counts()]
    assert stored().version == 0  # no state was written


def poison(sequence: int, **image: Any) -> dict[str, Any]:
    record = stream_record("AAPL", TickIn("p", NOW_MS, Decimal("1"), 1), sequence)
    for key, value in image.items():
        if value is None:
            del record["dynamodb"]["NewImage"][key]
        else:
            record["dynamodb"]["NewImage"][key] = value
    return record


def seq(n: int) -> int:
    return FIRST_SEQUENCE + n


POISON = [
    (poison(1, volume=None), f"record {seq(1)}: not a tick item: KeyError('volume')"),
    (
        poison(2, symbol={"S": "aapl!"}),
        f"record {seq(2)}: symbol 'aapl!' breaks the symbol rule",
    ),
    (poison(3, price={"N": "0"}), f"record {seq(3)}: price 0 is not a positive finite number"),
    (
        poison(4, price={"N": "-1.5"}),
        f"record {seq(4)}: price -1.5 is not a positive finite number",
    ),
    (
        poison(5, price={"N": "Infinity"}),
        f"record {seq(5)}: price Infinity is not a positive finite number",
    ),
    (
        poison(6, event_time_ms={"N": "-1"}),
        f"record {seq(6)}: event time -1 is negative",
    ),
    (poison(7, volume={"N": "-2"}), f"record {seq(7)}: volume -2 is negative"),
    (
        poison(8, symbol={"S": "?"}, volume={"N": "-1"}),
        f"record {seq(8)}: symbol '?' breaks the symbol rule; volume -1 is negative",
    ),
    (poison(9, price={"N": "NaN"}), f"record {seq(9)}: price NaN is not a positive finite number"),
]


def test_poison_records_go_to_the_failure_queue_with_the_reason_and_the_rest_is_applied(
    stack: Stack, counted: list[dict[str, int]]
) -> None:
    no_sequence = {"eventName": "INSERT", "dynamodb": {"NewImage": {}}}
    no_dynamodb = {"eventName": "INSERT", "dynamodb": "?"}
    no_image = poison(10)
    del no_image["dynamodb"]["NewImage"]
    bad = [
        *POISON,
        (no_sequence, "stream record without dynamodb.SequenceNumber"),
        (no_dynamodb, "stream record without dynamodb.SequenceNumber"),
        (no_image, f"INSERT {seq(10)} has no NewImage"),
    ]
    good = records_for("AAPL", CLOSES, 100)
    mixed = good[:50] + [record for record, _ in bad] + good[50:]
    queue = failure_queue(client("sqs"))
    # no SQS client given: the processor makes its own for the configured queue
    handler = processor(stack, trend_failure_queue_url=queue)
    assert handler.process(event(mixed)) == {"batchItemFailures": []}
    dead = failures(queue, client("sqs"))
    assert [(m["kind"], m["reason"]) for m in dead] == [("poison-record", r) for _, r in bad]
    assert [m["payload"]["record"] for m in dead] == [record for record, _ in bad]
    assert counted == [counts(Ticks=len(good), Alerts=2, PoisonRecords=len(bad))]
    assert len(received(stack)) == 2


def test_a_failed_publish_reports_the_symbol_and_its_retry_publishes_the_rest(
    stack: Stack, counted: list[dict[str, int]]
) -> None:
    # GIVEN SNS refusing the second publish (the death cross), and another symbol in the batch
    aapl, msft = records_for("AAPL", CLOSES), records_for("MSFT", [50.0] * 30, 5000)
    handler = processor(stack, sns=Sns(fail={2}))
    response = handler.process(event(aapl + msft))
    # THEN only AAPL's records are reported; the golden cross went out and left the outbox,
    # the death cross stays with its lease given up, so the retry may publish it at once
    assert response == {"batchItemFailures": sequences(aapl)}
    want = engine_alerts("AAPL", CLOSES)
    assert [a.id for a in received(stack)] == [want[0].id]
    assert stored().outbox == [OutboxEntry(want[1].body(), 0)]
    assert counted == [counts(Ticks=len(aapl) + len(msft), Alerts=1, FailedRecords=len(aapl))]
    # WHEN the event source retries the reported records
    assert handler.process(event(aapl)) == {"batchItemFailures": []}
    assert [a.id for a in received(stack)] == [want[1].id]
    assert counted[1] == counts(Alerts=1) and stored().outbox == []


def test_a_failed_publish_gives_up_the_lease_on_every_alert_not_sent(
    stack: Stack, counted: list[dict[str, int]]
) -> None:
    handler = processor(stack, sns=Sns(fail={1}))
    records = records_for("AAPL", CLOSES)
    assert handler.process(event(records)) == {"batchItemFailures": sequences(records)}
    want = engine_alerts("AAPL", CLOSES)
    assert stored().outbox == [OutboxEntry(a.body(), 0) for a in want]
    assert received(stack) == []


def test_an_alert_leased_by_a_live_invocation_is_left_to_it_until_the_lease_ends(
    stack: Stack,
    counted: list[dict[str, int]],
    failpoint: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN invocation A saved both alerts with its lease, then stopped before publishing
    records = records_for("AAPL", CLOSES)
    failpoint("trend-after-save")
    with pytest.raises(Died):
        processor(stack).process(event(records))
    want = engine_alerts("AAPL", CLOSES)
    assert stored().outbox == [OutboxEntry(a.body(), NOW_MS + LEASE_MS) for a in want]
    assert received(stack) == []
    monkeypatch.delenv("STOCKPIPE_FAILPOINT")
    # WHEN B sees the records again 1 ms before A's lease ends: B leaves them, reports them
    with caplog.at_level(logging.INFO, logger="lambdas.trend.handler"):
        busy = processor(stack, clock_s=NOW_S + (LEASE_MS - 1) / 1000).process(event(records))
    assert busy == {"batchItemFailures": sequences(records)}
    assert "alerts of AAPL are being published by another invocation; retry" in caplog.messages
    assert received(stack) == [] and counted == [counts()]  # busy is not a failure
    # WHEN the lease has ended (at its last millisecond): B claims and publishes them
    done = processor(stack, clock_s=NOW_S + LEASE_MS / 1000).process(event(records))
    assert done == {"batchItemFailures": []}
    assert [a.id for a in received(stack)] == [a.id for a in want]
    assert counted[1] == counts(Alerts=2) and stored().outbox == []


def test_an_invocation_stopped_between_publish_and_clear_leaves_the_alert_leased(
    stack: Stack, failpoint: Any
) -> None:
    failpoint("trend-after-publish")
    with pytest.raises(Died):
        processor(stack).process(event(records_for("AAPL", CLOSES)))
    want = engine_alerts("AAPL", CLOSES)
    assert [a.id for a in received(stack)] == [want[0].id]
    assert [e.id for e in stored().outbox] == [a.id for a in want]


def test_alerts_beyond_the_outbox_cap_go_to_the_failure_queue_oldest_first(
    stack: Stack, counted: list[dict[str, int]]
) -> None:
    # GIVEN SNS down, an outbox of one, and two symbols with two crossovers each
    queue = failure_queue(client("sqs"))
    handler = processor(
        stack,
        sns=Sns(fail=set(range(1, 10))),
        trend_outbox_cap=1,
        trend_failure_queue_url=queue,
    )
    records = records_for("AAPL", CLOSES) + records_for("MSFT", CLOSES, 5000)
    handler.process(event(records))
    # THEN each golden cross went to the failure queue, each death cross waits in its outbox
    dead = failures(queue, client("sqs"))
    want = {symbol: engine_alerts(symbol, CLOSES) for symbol in ("AAPL", "MSFT")}
    assert [(m["kind"], m["reason"], m["payload"]) for m in dead] == [
        ("outbox-overflow", f"outbox of {symbol} full", want[symbol][0].body())
        for symbol in ("AAPL", "MSFT")
    ]
    for symbol in ("AAPL", "MSFT"):
        assert stored(symbol).outbox == [OutboxEntry(want[symbol][1].body(), 0)]
    assert counted == [counts(Ticks=len(records), OutboxOverflow=2, FailedRecords=len(records))]


def test_every_failing_symbol_of_a_batch_is_reported(stack: Stack) -> None:
    # GIVEN two symbols whose stored state is broken, and two whose alerts another live
    # invocation is publishing
    for symbol in ("MSFT", "IBM"):
        put_item(client("dynamodb"), TABLE, symbol, state="{not json", schema={"N": "2"})
    leased = OutboxEntry(engine_alerts("AAPL", CLOSES)[0].body(), NOW_MS + LEASE_MS)
    for symbol in ("AAPL", "ORCL"):
        StateStore(client("dynamodb"), TABLE).update(symbol, lambda s: s.outbox.append(leased))
    batches = {
        s: records_for(s, CLOSES[:3], 1000 * n)
        for n, s in enumerate(("MSFT", "IBM", "AAPL", "ORCL"), 1)
    }
    # WHEN one invocation gets them all
    response = processor(stack).process(event([r for rs in batches.values() for r in rs]))
    # THEN the records of all four are reported for retry
    assert response == {"batchItemFailures": [f for rs in batches.values() for f in sequences(rs)]}


def test_a_symbol_whose_update_fails_is_reported_alone(
    stack: Stack, counted: list[dict[str, int]], caplog: pytest.LogCaptureFixture
) -> None:
    put_item(client("dynamodb"), TABLE, "MSFT", state="{not json", schema={"N": "2"})
    aapl, msft = records_for("AAPL", CLOSES), records_for("MSFT", CLOSES, 5000)
    with caplog.at_level(logging.ERROR, logger="lambdas.trend.handler"):
        response = processor(stack).process(event(msft + aapl))
    assert response == {"batchItemFailures": sequences(msft)}
    logged = [r.getMessage() for r in caplog.records if r.name == "lambdas.trend.handler"]
    assert logged == ["trend update for MSFT failed; reporting its records"]
    assert [a.id for a in received(stack)] == [a.id for a in engine_alerts("AAPL", CLOSES)]
    assert counted == [counts(Ticks=len(aapl), Alerts=2, FailedRecords=len(msft))]


def test_the_lambda_entry_point_makes_its_processor_once_and_logs_json(
    stack: Stack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(entry, "_processor", None)
    monkeypatch.setattr(logging.root, "handlers", logging.root.handlers[:])
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    monkeypatch.setenv("STOCKPIPE_ALERTS_TOPIC_ARN", stack.topic_arn)
    monkeypatch.setenv("STOCKPIPE_TREND_STATE_TABLE", TABLE)
    monkeypatch.setenv("STOCKPIPE_REGION", REGION)
    monkeypatch.setenv("STOCKPIPE_LOG_LEVEL", "WARNING")
    records = records_for("AAPL", CLOSES)
    assert entry.handler(event(records[:120]), None) == {"batchItemFailures": []}
    first = entry._processor
    assert entry.handler(event([*records[120:], poison(1, volume=None)]), None) == {
        "batchItemFailures": []
    }
    assert entry._processor is first
    assert [a.id for a in received(stack)] == [a.id for a in engine_alerts("AAPL", CLOSES)]
    # JSON log lines at the configured level: the poison record's error, no INFO lines
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["level"], line["logger"]) for line in lines] == [
        ("ERROR", "lambdas.trend.failures"),
        ("ERROR", "lambdas.trend.failures"),
    ]
