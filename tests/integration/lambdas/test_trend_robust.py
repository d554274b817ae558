"""The trend handler on the emulator against input and timing that used to corrupt signals:
a tie series, a tick from the future, an outbox over its cap, racing invocations, poison."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson

from common import aws
from common.alerts import Alert
from common.settings import TrendSettings
from lambdas.trend.alerts import to_alert
from lambdas.trend.engine import SymbolState, TickIn, TrendConfig, apply
from lambdas.trend.handler import TrendProcessor
from lambdas.trend.state_store import StateStore
from stockpipe import alerts_feed
from stockpipe.provision import Resources
from tests.integration.lambdas.test_trend_handler import CLOSES, expected, records_for
from tests.stream_events import event, stream_record
from tests.unit.lambdas.test_trend_engine import bar_ticks

STATE_TABLE = "stockpipe-trend-state"
DYNAMODB_ITEM_LIMIT = 400 * 1024


def processor(resources: Resources, sns: Any = None, **options: Any) -> TrendProcessor:
    settings = TrendSettings(alerts_topic_arn=resources.alerts_topic_arn, **options)
    return TrendProcessor(settings, aws.client("dynamodb"), sns or aws.client("sns"))


def received(resources: Resources) -> list[Alert]:
    return alerts_feed.drain(aws.client("sqs"), resources.alerts_queue_url)


def failure_queue(sqs: Any = None) -> str:
    sqs = sqs or aws.client("sqs")
    return str(sqs.create_queue(QueueName="trend-failures")["QueueUrl"])


def failures(queue_url: str, sqs: Any = None) -> list[dict[str, Any]]:
    sqs, out = sqs or aws.client("sqs"), []
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
        "Messages", []
    ):
        for m in messages:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
    return out


def test_a_flat_price_after_a_rise_alerts_nothing(resources: Resources) -> None:
    # 25 rising bars then 12.34 for 30 bars: a float engine sent a SELL at bar 44, a BUY at 55
    closes = [11.0 + 0.05 * i for i in range(25)] + [12.34] * 30
    response = processor(resources).process(event(records_for("AAPL", closes)))
    assert response == {"batchItemFailures": []}
    assert received(resources) == []


def test_a_tick_23_hours_ahead_leaves_the_alerts_and_late_count_alone(
    resources: Resources,
) -> None:
    ticks = bar_ticks(CLOSES)
    bogus = TickIn("bogus", ticks[100].event_time_ms + 23 * 3_600_000, Decimal("500"), 9)
    records = [stream_record("AAPL", t, i + 1) for i, t in enumerate([*ticks[:100], bogus])]
    records += [stream_record("AAPL", t, 200 + i) for i, t in enumerate(ticks[100:])]
    handler = processor(resources)
    for i in range(0, len(records), 30):
        assert handler.process(event(records[i : i + 30])) == {"batchItemFailures": []}
    assert [(a.symbol, a.signal) for a in received(resources)] == expected("AAPL", CLOSES)
    state = StateStore(aws.client("dynamodb"), STATE_TABLE).load("AAPL").state
    assert state.late_ticks == 0 and [t.id for t in state.held] == ["bogus"]


class DownSns:
    """SNS during an outage, until `up` is set."""

    def __init__(self) -> None:
        self.real, self.up = aws.client("sns"), False

    def publish(self, **kwargs: Any) -> Any:
        if not self.up:
            raise ConnectionError("SNS unreachable")
        return self.real.publish(**kwargs)


def test_an_outbox_over_its_cap_sends_the_oldest_to_the_failure_queue(
    resources: Resources,
) -> None:
    # GIVEN an SNS outage across a series with many crossovers, and an outbox cap of 3
    closes = [100 + (3 if (i // 6) % 2 else -3) + i * 0.01 for i in range(150)]
    want = expected("AAPL", closes)
    assert len(want) > 8
    queue, sns = failure_queue(), DownSns()
    handler = processor(resources, sns, trend_outbox_cap=3, trend_failure_queue_url=queue)
    records = records_for("AAPL", closes)
    reported = [
        handler.process(event(records[i : i + 20]))["batchItemFailures"]
        for i in range(0, len(records), 20)
    ]
    assert sum(1 for r in reported if r) >= 4  # each failed publish reports the batch
    # THEN the state item stays small, the outbox holds the 3 newest, the rest went out with ids
    item = aws.client("dynamodb").get_item(TableName=STATE_TABLE, Key={"symbol": {"S": "AAPL"}})
    assert len(orjson.dumps(item["Item"])) < DYNAMODB_ITEM_LIMIT / 10
    stored = StateStore(aws.client("dynamodb"), STATE_TABLE).load("AAPL")
    assert len(stored.outbox) == 3
    overflow = failures(queue)
    assert {m["kind"] for m in overflow} == {"outbox-overflow"}
    overflow_ids = [m["payload"]["id"] for m in overflow]
    # WHEN SNS is back and the next record of the symbol comes
    sns.up = True
    assert handler.process(event(records[-1:])) == {"batchItemFailures": []}
    published = [a.id for a in received(resources)]
    # THEN every alert is either published or in the failure queue, once, in order
    all_ids = [to_alert(s).id for s in apply(SymbolState("AAPL"), bar_ticks(closes), TrendConfig())]
    assert overflow_ids + published == all_ids and len(all_ids) == len(want)
    assert published == [e.id for e in stored.outbox]


class RacedSns:
    """SNS whose first publish lets a rival invocation run first (the race, made certain)."""

    def __init__(self, rival: Callable[[], dict[str, Any]]) -> None:
        self.real, self.rival = aws.client("sns"), rival
        self.rival_responses: list[dict[str, Any]] = []

    def publish(self, **kwargs: Any) -> Any:
        if not self.rival_responses:
            self.rival_responses.append(self.rival())
        return self.real.publish(**kwargs)


def test_a_racing_invocation_never_publishes_an_alert_it_did_not_record(
    resources: Resources,
) -> None:
    # GIVEN invocation A records the golden cross; while A publishes, B (another stream shard
    # after a split) runs the rest of the symbol's records, death cross included
    records = records_for("AAPL", CLOSES)
    first, rest = records[:120], records[120:]
    rival = processor(resources)
    sns = RacedSns(lambda: rival.process(event(first + rest)))
    assert processor(resources, sns).process(event(first)) == {"batchItemFailures": []}
    # THEN B published only its own alert and reported its records (A held the lease)
    assert sns.rival_responses[0]["batchItemFailures"]
    rival.process(event(first + rest))  # the event source's retry of B
    got = sorted(received(resources), key=lambda a: a.bar_start_ms)
    assert [(a.symbol, a.signal) for a in got] == expected("AAPL", CLOSES)
    assert len({a.id for a in got}) == len(got) == 2
    assert StateStore(aws.client("dynamodb"), STATE_TABLE).load("AAPL").outbox == []


def test_clearing_a_published_alert_keeps_the_alerts_other_invocations_recorded(
    resources: Resources,
) -> None:
    # GIVEN invocation A publishing the golden cross while B records the death cross and
    # fails to publish it (SNS refused B)
    records = records_for("AAPL", CLOSES)
    first, rest = records[:120], records[120:]
    rival_sns = DownSns()
    rival = processor(resources, rival_sns)
    sns = RacedSns(lambda: rival.process(event(first + rest)))
    processor(resources, sns).process(event(first))
    assert sns.rival_responses[0]["batchItemFailures"]
    # WHEN A removes its alert from the outbox, and B's records are retried
    rival_sns.up = True
    assert rival.process(event(rest)) == {"batchItemFailures": []}
    # THEN B's alert was still there to publish: both crossovers, once each
    got = sorted(received(resources), key=lambda a: a.bar_start_ms)
    assert [(a.symbol, a.signal) for a in got] == expected("AAPL", CLOSES)


def poison_records() -> list[tuple[str, dict[str, Any]]]:
    """(the reason expected, the record) for records no tick can be read from."""
    base = stream_record("AAPL", TickIn("p", 1_763_996_400_000, Decimal("1"), 1), 900_000)

    def variant(sequence: int, **image: Any) -> dict[str, Any]:
        record = json.loads(json.dumps(base))
        record["dynamodb"]["SequenceNumber"] = str(sequence)
        record["dynamodb"]["NewImage"] |= image
        for key, value in image.items():
            if value is None:
                del record["dynamodb"]["NewImage"][key]
        return record

    no_image = json.loads(json.dumps(base))
    del no_image["dynamodb"]["NewImage"]
    return [
        ("no NewImage", no_image),
        ("not a tick item", variant(900_001, price={"N": "twelve"})),
        ("not a tick item", variant(900_002, volume=None)),
        ("not a positive finite number", variant(900_003, price={"N": "-5"})),
        ("breaks the symbol rule", variant(900_004, symbol={"S": "AAPL<script>"})),
        ("volume -1 is negative", variant(900_005, volume={"N": "-1"})),
    ]


def test_poison_records_go_to_the_failure_queue_and_the_rest_is_applied(
    resources: Resources,
) -> None:
    queue = failure_queue()
    good = records_for("AAPL", CLOSES) + records_for("MSFT", CLOSES, 5000)
    bad = poison_records()
    mixed = list(good)
    for k, (_, record) in enumerate(bad):
        mixed.insert(37 * (k + 1), record)
    handler = processor(resources, trend_failure_queue_url=queue)
    for i in range(0, len(mixed), 50):
        assert handler.process(event(mixed[i : i + 50])) == {"batchItemFailures": []}
    got = sorted((a.symbol, a.signal, a.bar_start_ms) for a in received(resources))
    assert [(s, sig) for s, sig, _ in got] == sorted(
        expected("AAPL", CLOSES) + expected("MSFT", CLOSES)
    )
    dead = failures(queue)
    assert len(dead) == len(bad)
    for message, (reason, record) in zip(dead, bad, strict=True):
        assert message["kind"] == "poison-record" and reason in message["reason"]
        assert message["payload"]["record"] == record
