"""What the stores can hold: DynamoDB numbers and Int64 columns.

Validation (common/tick.py) keeps every field inside these limits, so a tick that passes can
always be stored; the consumer checks the values it derives (change, change_pct) against the
same bounds. Stated once here so the validator and the consumer agree.
"""

from __future__ import annotations

# DynamoDB numbers: magnitude 1E-130 .. 9.9999999999999999999999999999999999999E+125, or zero,
# at most 38 significant digits; anything else is a ValidationException that no retry cures.
# A Python float's repr has at most 17 significant digits, so for floats only the magnitude
# can fail: these are the smallest and largest floats whose repr is inside the range.
DYNAMODB_MIN_FLOAT = 1e-130
DYNAMODB_MAX_FLOAT = 9.999999999999999e125
# polars Int64 / Parquet INT64 (volume, event_time_ms, arrival_ms); 19 digits fit DynamoDB
INT64_MAX = 2**63 - 1
