"""The trend handler against the emulator: alerts once, whatever the delivery does."""

from __future__ import annotations

import json
import logging
from dataclasses import fields
from typing import Any

import pytest

from common import aws
from common.settings import TrendSettings
from lambdas.trend.handler import TrendProcessor
from lambdas.trend.indicators import IndicatorValues
from lambdas.trend.state_store import StateStore
from stockpipe import alerts_feed
from stockpipe.provision import Resources
from tests.stream_events import event, stream_record
from tests.unit.lambdas.test_trend_engine import bar_ticks
from tests.unit.lambdas.trend_reference import reference_crossovers

# down 25 bars, up 25, down 25: one golden cross, one death cross
CLOSES = (
    [100 - i * 0.5 for i in range(25)]
    + [88 + i * 1.0 for i in range(25)]
    + [112 - i * 1.5 for i in range(25)]
)


def records_for(
    symbol: str, closes: list[float], first_sequence: int = 1, step: int = 1
) -> list[dict[str, Any]]:
    return [
        stream_record(symbol, tick, first_sequence + i * step)
        for i, tick in enumerate(bar_ticks(closes))
    ]


def processor(resources: Resources, sns: Any = None, store_client: Any = None) -> TrendProcessor:
    settings = TrendSettings(alerts_topic_arn=resources.alerts_topic_arn)
    return TrendProcessor(
        settings, store_client or aws.client("dynamodb"), sns or aws.client("sns")
    )


def received(resources: Resources) -> list[tuple[str, str, str]]:
    return [
        (a.symbol, a.signal, a.bar_time)
        for a in alerts_feed.drain(aws.client("sqs"), resources.alerts_queue_url)
    ]


def expected(symbol: str, closes: list[float]) -> list[tuple[str, str]]:
    return [(symbol, signal) for _, signal in reference_crossovers(closes)]


def test_alerts_match_the_reference_and_carry_indicators(resources: Resources) -> None:
    response = processor(resources).process(event(records_for("AAPL", CLOSES)))
    assert response == {"batchItemFailures": []}
    sqs = aws.client("sqs")
    alerts = alerts_feed.drain(sqs, resources.alerts_queue_url)
    assert [(a.symbol, a.signal) for a in alerts] == expected("AAPL", CLOSES)
    first = alerts[0]
    assert set(first.indicators) == {f.name for f in fields(IndicatorValues)}
    fast, slow = first.indicators["sma_fast"], first.indicators["sma_slow"]
    assert fast is not None and slow is not None and fast > slow
    assert first.rule == "SMA5 crossed above SMA20"
    assert first.id == f"AAPL:{first.bar_start_ms}:BUY:sma5x20"


def stored_state(symbol: str = "AAPL") -> dict[str, Any]:
    stored = StateStore(aws.client("dynamodb"), "stockpipe-trend-state").load(symbol)
    return stored.state.to_json_dict()


def test_the_same_event_delivered_twice_alerts_once_and_counts_once(
    resources: Resources,
) -> None:
    records = records_for("AAPL", CLOSES)
    processor(resources).process(event(records))
    once = stored_state()
    handler = processor(resources)
    handler.process(event(records))  # a Lambda retry of the whole batch
    processor(resources).process(event(records[100:]))  # a new container, a partial replay
    assert len(received(resources)) == len(expected("AAPL", CLOSES)) == 2
    # the open bar's volume and the late-tick count are not inflated by the re-deliveries
    assert stored_state() == once and once["late_ticks"] == 0


def test_modify_records_from_a_consumer_replay_are_ignored(resources: Resources) -> None:
    records = records_for("AAPL", CLOSES)
    modified = [
        stream_record("AAPL", t, 10_000 + i, "MODIFY") for i, t in enumerate(bar_ticks(CLOSES))
    ]
    processor(resources).process(event(records))
    once = stored_state()
    processor(resources).process(event(modified))
    assert len(received(resources)) == 2
    assert stored_state() == once


def test_symbols_interleaved_in_one_batch_are_kept_apart(resources: Resources) -> None:
    other = [100 + i * 0.5 for i in range(25)] + [112 - i * 1.0 for i in range(30)]
    aapl, msft = records_for("AAPL", CLOSES, 1, 2), records_for("MSFT", other, 2, 2)
    mixed = sorted(aapl + msft, key=lambda r: r["dynamodb"]["SequenceNumber"])
    handler = processor(resources)
    for i in range(0, len(mixed), 40):
        handler.process(event(mixed[i : i + 40]))
    got = received(resources)
    assert [(s, sig) for s, sig, _ in got if s == "AAPL"] == expected("AAPL", CLOSES)
    assert [(s, sig) for s, sig, _ in got if s == "MSFT"] == expected("MSFT", other)


def test_racing_invocations_record_each_crossover_once(resources: Resources) -> None:
    records = records_for("AAPL", CLOSES)
    rival = processor(resources)

    class RacingClient:
        """Lets the rival invocation win the race just before our first write."""

        def __init__(self) -> None:
            self.real, self.raced = aws.client("dynamodb"), False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def put_item(self, **kwargs: Any) -> Any:
            if not self.raced:
                self.raced = True
                rival.process(event(records))
            return self.real.put_item(**kwargs)

    processor(resources, store_client=RacingClient()).process(event(records))
    assert len(received(resources)) == 2
    stored = StateStore(aws.client("dynamodb"), "stockpipe-trend-state").load("AAPL")
    assert stored.outbox == [] and stored.version >= 2


def test_a_failed_publish_is_reported_and_sent_on_the_retry(resources: Resources) -> None:
    class FlakySns:
        def __init__(self) -> None:
            self.real, self.calls = aws.client("sns"), 0

        def publish(self, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("SNS unreachable")
            return self.real.publish(**kwargs)

    records = records_for("AAPL", CLOSES) + records_for("MSFT", [50.0] * 30, 5000)
    handler = processor(resources, sns=FlakySns())
    response = handler.process(event(records))
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    aapl = {
        r["dynamodb"]["SequenceNumber"]
        for r in records
        if r["dynamodb"]["NewImage"]["symbol"]["S"] == "AAPL"
    }
    assert failed == aapl  # only the failing symbol's records are reported
    assert received(resources) == []
    handler.process(event([r for r in records if r["dynamodb"]["SequenceNumber"] in failed]))
    assert len(received(resources)) == 2  # the outbox is published once, not recomputed


def test_filter_policies_deliver_only_matching_alerts(resources: Resources) -> None:
    sns, sqs = aws.client("sns"), aws.client("sqs")
    queues = {}
    for name, symbols, signals in (("aapl-buys", ["AAPL"], ["BUY"]), ("sells", [], ["SELL"])):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        alerts_feed.subscribe(
            sns, resources.alerts_topic_arn, "sqs", arn, symbols=symbols, signals=signals
        )
        queues[name] = url
    handler = processor(resources)
    handler.process(event(records_for("AAPL", CLOSES)))
    handler.process(event(records_for("MSFT", CLOSES, 5000)))
    got = {
        name: [(a.symbol, a.signal) for a in alerts_feed.drain(sqs, url)]
        for name, url in queues.items()
    }
    assert got == {"aapl-buys": [("AAPL", "BUY")], "sells": [("AAPL", "SELL"), ("MSFT", "SELL")]}


def test_subscribe_refuses_unknown_protocols(resources: Resources) -> None:
    with pytest.raises(ValueError, match="not one of"):
        alerts_feed.subscribe(
            aws.client("sns"), resources.alerts_topic_arn, "pigeon", "x", symbols=[], signals=[]
        )


def test_message_attributes_and_subject_are_set(resources: Resources) -> None:
    sqs = aws.client("sqs")
    processor(resources).process(event(records_for("AAPL", CLOSES)))
    message = sqs.receive_message(QueueUrl=resources.alerts_queue_url)["Messages"][0]
    envelope = json.loads(message["Body"])
    assert envelope["MessageAttributes"]["symbol"]["Value"] == "AAPL"
    assert envelope["MessageAttributes"]["signal"]["Value"] == "BUY"
    assert envelope["Subject"].startswith("BUY AAPL @ ")


def test_the_lambda_entry_point_reads_its_environment_once(
    resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas.trend import handler as entry

    monkeypatch.setattr(entry, "_processor", None)
    # the entry point sets up JSON logging on the root logger: undo that after the test
    monkeypatch.setattr(logging.root, "handlers", logging.root.handlers[:])
    monkeypatch.setattr(logging.root, "level", logging.root.level)
    monkeypatch.setenv("STOCKPIPE_ALERTS_TOPIC_ARN", resources.alerts_topic_arn)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "stockpipe-trend")
    records = records_for("AAPL", CLOSES)
    assert entry.handler(event(records[:120]), None) == {"batchItemFailures": []}
    first = entry._processor
    assert entry.handler(event(records[120:]), None) == {"batchItemFailures": []}
    assert entry._processor is first  # clients and settings made once per container
    assert len(received(resources)) == 2
