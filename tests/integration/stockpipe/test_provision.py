"""Provisioning creates every resource as the contracts say, and is idempotent."""

from __future__ import annotations

import json

from common import aws, tables
from common.settings import Settings
from stockpipe.provision import Resources, provision


def test_provisioning_twice_changes_nothing(settings: Settings, resources: Resources) -> None:
    assert provision(settings) == resources


def test_stream_has_the_configured_shards(resources: Resources) -> None:
    kinesis = aws.client("kinesis")
    shards = kinesis.list_shards(StreamName="stockpipe-ticks")["Shards"]
    assert len(shards) == 2


def test_ticks_table_keys_stream_and_ttl(resources: Resources) -> None:
    dynamodb = aws.client("dynamodb")
    table = dynamodb.describe_table(TableName=resources.ticks_table)["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        tables.PARTITION_KEY: "HASH",
        tables.SORT_KEY: "RANGE",
    }
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    assert resources.ticks_table_stream_arn == table["LatestStreamArn"]
    ttl = dynamodb.describe_time_to_live(TableName=resources.ticks_table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == tables.TTL_ATTRIBUTE


def test_bucket_is_private_and_encrypted(resources: Resources) -> None:
    s3 = aws.client("s3")
    block = s3.get_public_access_block(Bucket=resources.bucket)
    assert all(block["PublicAccessBlockConfiguration"].values())
    rules = s3.get_bucket_encryption(Bucket=resources.bucket)["ServerSideEncryptionConfiguration"][
        "Rules"
    ]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_alerts_topic_delivers_to_the_local_queue(resources: Resources) -> None:
    sns, sqs = aws.client("sns"), aws.client("sqs")
    sns.publish(
        TopicArn=resources.alerts_topic_arn,
        Message=json.dumps({"symbol": "AAPL"}),
        MessageAttributes={"symbol": {"DataType": "String", "StringValue": "AAPL"}},
    )
    messages = sqs.receive_message(QueueUrl=resources.alerts_queue_url, WaitTimeSeconds=2)
    envelope = json.loads(messages["Messages"][0]["Body"])
    assert json.loads(envelope["Message"]) == {"symbol": "AAPL"}


def test_glue_database_exists(resources: Resources) -> None:
    assert aws.client("glue").get_database(Name=resources.glue_database)["Database"]["Name"]


def test_glue_tables_project_partitions_and_match_the_parquet_the_consumer_writes(
    resources: Resources,
) -> None:
    import io

    import polars as pl

    from consumer.batch import InRecord, PriceMemory, build_batch
    from consumer.encode import parquet_objects
    from tests.factories import a_tick

    glue = aws.client("glue")
    ticks = glue.get_table(DatabaseName=resources.glue_database, Name="ticks")["Table"]
    parameters = ticks["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.type"] == "date"
    assert parameters["storage.location.template"] == "s3://stockpipe-history/ticks/dt=${dt}/"
    assert [p["Name"] for p in ticks["PartitionKeys"]] == ["dt"]
    # the columns are exactly those of a file the consumer writes, with matching types
    tick = a_tick()
    batch = build_batch(
        [InRecord(tick.encode(), "1", 0, tick.event_time_ms, "AAPL")],
        "s-1",
        PriceMemory(),
    )
    [(_key, body, _ids)], _rejects = parquet_objects(batch)
    schema = pl.read_parquet(io.BytesIO(body)).schema
    athena_type = {pl.String: "string", pl.Int64: "bigint", pl.Float64: "double"}
    columns = ticks["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns] == list(schema)
    for column in columns:
        dtype = schema[column["Name"]]
        expected = "timestamp" if isinstance(dtype, pl.Datetime) else athena_type[dtype]
        assert column["Type"] == expected, column["Name"]
    letters = glue.get_table(DatabaseName=resources.glue_database, Name="dead_letters")["Table"]
    assert letters["Parameters"]["storage.location.template"].endswith("dead-letter/dt=${dt}/")
