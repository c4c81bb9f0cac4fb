"""The YAML writer: whatever it writes reads back as the same data, in YAML 1.1 and 1.2 readers."""

from __future__ import annotations

import re

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from klaster_build.emit.yaml import dump_document

# YAML 1.2.2 core schema (spec section 10.3.2): plain scalars that are not strings there. Go's
# yaml.v3 (Flux, kustomize) reads with these rules; PyYAML reads YAML 1.1 and checks the rest.
YAML12_NOT_STRING = re.compile(
    r"^(?:null|Null|NULL|~|true|True|TRUE|false|False|FALSE"
    r"|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+"
    r"|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.from_regex(r"\A[-+.0-9eExob_:a-fA-F TZ]{1,12}\Z")  # number- and date-like strings
)
documents = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
).map(lambda value: {"data": value})


@given(documents)
@example({"data": {"key\n": "a trailing newline is no plain scalar"}})
def test_pyyaml_reads_back_what_was_written(document: dict[str, object]) -> None:
    assert yaml.safe_load(dump_document(document)) == document


def _plain_scalars(text: str) -> list[str]:
    """Unquoted scalar values (after `key: ` or `- `) of a block-style document."""
    found = []
    for line in text.splitlines():
        match = re.match(r"^\s*(?:- |[^'\"\s][^:]*: |'[^']*': )+(.+)$", line)
        if match and match.group(1)[0] not in "'\"|>[{":
            found.append(match.group(1))
    return found


@given(st.from_regex(r"\A[-+.0-9eExob_:a-fA-F]{1,12}\Z") | st.text(max_size=12))
def test_no_string_is_written_as_a_yaml12_number(text: str) -> None:
    """A string never comes out plain where a YAML 1.2 reader would see a number, bool or null."""
    for plain in _plain_scalars(dump_document({"key": text, "list": [text]})):
        assert not YAML12_NOT_STRING.match(plain), plain


@pytest.mark.parametrize("text", ["24h", "30m", "2Gi", "500m", "1.2.6", "10.0.0.1", "v1.2"])
def test_values_people_write_unquoted_stay_plain(text: str) -> None:
    """Durations, quantities and versions look as in hand-written manifests (and the real repo)."""
    assert dump_document({"key": text}) == f"key: {text}\n"


@pytest.mark.parametrize(
    "text", ["1", "1.5", "1e3", "0x1F", "0o17", "0755", "1:20", "2001-12-14", ".inf", "yes"]
)
def test_strings_that_read_as_other_types_are_quoted(text: str) -> None:
    assert dump_document({"key": text}) == f"key: '{text}'\n"
