"""The naming table holds for every class apps.d files can import."""

from __future__ import annotations

import attrs
import pytest

from klaster_build import dsl
from klaster_build.naming import naming_problems
from klaster_build.records.base import Record

CLASSES = [
    getattr(dsl, name)
    for name in dsl.__all__
    if isinstance(getattr(dsl, name), type) and attrs.has(getattr(dsl, name))
]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_dsl_class_follows_the_naming_table(cls: type) -> None:
    """First positional is the name (or a listed value), waivers are reasons, one LV spelling."""
    assert naming_problems(cls, is_record=issubclass(cls, Record)) == []


def test_the_table_catches_each_old_spelling() -> None:
    """The rules are real: classes spelled the old ways are reported."""

    @attrs.frozen(kw_only=True)
    class Old(Record):
        purpose: str = attrs.field(kw_only=False)
        volume_name: str = ""
        allow_http: str = ""
        reasons: str = ""

    assert naming_problems(Old, is_record=True) == [
        "Old takes ('purpose',) positionally; allowed: ((), ('name',))",
        "Old.purpose: the table spells it `name`",
        "Old.volume_name: the table spells it `lv_name`",
        "Old.allow_http: say why with `<thing>_reason=` instead",
        "Old.reasons: a waiver is `reason` or `<thing>_reason`",
    ]
