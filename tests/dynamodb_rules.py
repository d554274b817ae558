"""An oracle for DynamoDB's number rules, written from the AWS documentation, independent of
the bounds the code uses (common/sink_limits.py), so tests can check the code against it.

"Numbers can be positive, negative, or zero. Numbers can have up to 38 digits of precision.
Positive range: 1E-130 to 9.9999999999999999999999999999999999999E+125. Negative range:
-9.9999999999999999999999999999999999999E+125 to -1E-130." (DynamoDB developer guide,
naming rules and data types.) The emulator checks the range only, not the precision.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

MIN_MAGNITUDE = Decimal("1E-130")
MAX_MAGNITUDE = Decimal("9.9999999999999999999999999999999999999E+125")
MAX_DIGITS = 38


def number_error(text: str) -> str | None:
    """Why DynamoDB refuses `text` as an N value, or None."""
    if not isinstance(text, str) or text != text.strip():
        return f"{text!r} is not a number string"
    try:
        value = Decimal(text)
    except InvalidOperation:
        return f"{text!r} is not a number"
    if not value.is_finite():
        return f"{text!r} is not finite"
    if value.is_zero():
        return None
    # copy_abs and the digit tuple are exact; abs() and normalize() round to 28 digits
    if not MIN_MAGNITUDE <= value.copy_abs() <= MAX_MAGNITUDE:
        return f"{text} is outside 1E-130..9.99E+125"
    digits = len("".join(map(str, value.as_tuple().digits)).strip("0"))
    if digits > MAX_DIGITS:
        return f"{text} has {digits} significant digits"
    return None


def numbers(item: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(attribute, text) of every N value in a low-level item (top level is all we write)."""
    for name, value in item.items():
        if "N" in value:
            yield name, value["N"]


def item_errors(item: Mapping[str, Any]) -> list[str]:
    return [f"{name}: {error}" for name, text in numbers(item) if (error := number_error(text))]
