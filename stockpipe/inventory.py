"""Read back what the pipeline stored: tick ids in DynamoDB and S3, dead letters."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import orjson
import polars as pl

from common import tables
from common.layout import DEAD_LETTER_PREFIX, TICKS_PREFIX


def dynamodb_tick_ids(dynamodb: Any, table: str) -> list[str]:
    """Every tick item's id (the per-symbol latest-quote items are not ticks)."""
    ids: list[str] = []
    kwargs: dict[str, Any] = {"TableName": table, "ProjectionExpression": "id, sk"}
    while True:
        page = dynamodb.scan(**kwargs)
        ids += [i["id"]["S"] for i in page["Items"] if i["sk"]["S"] != tables.LATEST_SORT_KEY]
        if "LastEvaluatedKey" not in page:
            return ids
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def keys(s3: Any, bucket: str, prefix: str) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            yield obj["Key"]


def parquet_frame(s3: Any, bucket: str, columns: list[str] | None = None) -> pl.DataFrame:
    """All Parquet history rows (small data only: demo and tests)."""
    frames = [
        pl.read_parquet(
            io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), columns=columns
        )
        for key in keys(s3, bucket, TICKS_PREFIX)
        if key.endswith(".parquet")
    ]
    return pl.concat(frames) if frames else pl.DataFrame()


def dead_letters(s3: Any, bucket: str) -> list[dict[str, Any]]:
    letters = []
    for key in keys(s3, bucket, DEAD_LETTER_PREFIX):
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        letters += [orjson.loads(line) for line in body.splitlines() if line]
    return letters
