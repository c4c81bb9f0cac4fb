"""Kubernetes resource quantities (`10Gi`, `10737418240`, `500M`) compared by value."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_SUFFIXES: dict[str, Decimal] = {
    "n": Decimal(10) ** -9,  # CPU: nano-, micro- and millicores
    "u": Decimal(10) ** -6,
    "m": Decimal(10) ** -3,
    "": Decimal(1),
    "Ki": Decimal(1024),
    "Mi": Decimal(1024) ** 2,
    "Gi": Decimal(1024) ** 3,
    "Ti": Decimal(1024) ** 4,
    "Pi": Decimal(1024) ** 5,
    "Ei": Decimal(1024) ** 6,
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
}
_QUANTITY = re.compile(
    r"^(?P<number>[0-9]+(\.[0-9]+)?)(?P<suffix>Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$"
)


def parse_quantity(text: str) -> Decimal:
    """The number of bytes `text` stands for; ValueError with a hint when it is not a quantity."""
    match = _QUANTITY.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        msg = f"{text!r} is not a Kubernetes quantity; write e.g. '10Gi' (binary) or '500M'"
        if isinstance(text, str) and re.fullmatch(r"^[0-9.]+[KMGTPE]B$", text):
            msg += f" (for {text} write {text[:-1]}i)"
        raise ValueError(msg)
    try:
        value = Decimal(match["number"]) * _SUFFIXES[match["suffix"] or ""]
    except InvalidOperation as error:  # pragma: no cover - the regex admits only valid numbers
        raise ValueError(f"{text!r} is not a number") from error
    if value <= 0:
        msg = f"{text!r} must be larger than zero"
        raise ValueError(msg)
    return value


def same_quantity(a: str, b: str) -> bool:
    """True when both quantities stand for the same amount (`10Gi` == `10737418240`)."""
    return parse_quantity(a) == parse_quantity(b)
