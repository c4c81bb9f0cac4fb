"""What a record accepts it can write: free-form values are checked once, at construction, and
a refusal names the path inside the value."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from klaster_build.data import MAX_DEPTH
from klaster_build.emit.yaml import dump_document
from klaster_build.errors import DeclarationError
from klaster_build.records.helm import HelmRelease, HelmRepository
from klaster_build.registry import session

# Text YAML and Kubernetes can hold (no NUL, no lone surrogates), and any text.
TEXT = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=20)
KEYS = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
GOOD = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=10,
)
ANYTHING = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=3)
    | st.frozensets(st.integers(), max_size=2),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3)
    ),
    max_leaves=10,
)
# Values a record refuses, and how the refusal starts after the value's path.
BAD: list[tuple[object, str]] = [
    ({2, 1}, "is a set; YAML has no sets: write a list, [1, 2]"),
    (frozenset({"a"}), "is a set; YAML has no sets: write a list, ['a']"),
    (float("nan"), "is nan, which Kubernetes cannot store"),
    (float("-inf"), "is -inf, which Kubernetes cannot store"),
    (object(), "is a value of type object ("),
    (b"x", "is a value of type bytes (b'x'), which is not YAML data"),
    ("a\x00b", "contains a NUL character (\\x00): 'a\\x00b'"),
    ("\x007\x00", "contains a NUL character (\\x00): '\\x007\\x00'"),
    ("x\udc80", "contains a lone surrogate '\\udc80'"),
    ({3: "x"}, "has the key 3 (int); YAML keys here are text: write '3'"),
    ({None: "x"}, "has the key None (NoneType)"),
]


def _release(values: Any) -> HelmRelease:
    with session(app="values"):
        source = HelmRepository("r", url="https://example.org/charts")
        return HelmRelease("h", source=source, chart="h", version="1.0.0", values=values)


def _plain(value: Any) -> Any:
    """`value` as YAML reads it back (tuples are sequences)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@given(values=st.dictionaries(KEYS, GOOD, max_size=4))
def test_yaml_data_is_accepted(values: dict[str, Any]) -> None:
    """Strings, numbers, flags, None, lists and string-keyed dicts are taken as they are."""
    assert _release(values).values == values


@given(values=st.dictionaries(st.text(max_size=8), ANYTHING, max_size=4))
def test_what_a_release_accepts_is_written_and_read_back(values: dict[str, Any]) -> None:
    """Every value is refused at construction or written as YAML that reads back the same:
    nothing gets past the record to fail (or go wrong) in the writer."""
    try:
        release = _release(values)
    except DeclarationError as error:
        assert str(error).startswith("HelmRelease ")
        return
    assert yaml.safe_load(dump_document({"values": release.values})) == {"values": _plain(values)}


@st.composite
def _one_bad_value(draw: st.DrawFn) -> tuple[dict[str, Any], str, str]:
    """Good values with one bad value at a drawn path; that path, and the expected problem."""
    bad, problem = draw(st.sampled_from(BAD))
    steps = draw(
        st.lists(KEYS | st.integers(0, 2), min_size=1, max_size=8).filter(
            lambda s: isinstance(s[0], str)
        )
    )
    value: Any = bad
    for step in reversed(steps):
        if isinstance(step, str):
            siblings = draw(
                st.dictionaries(KEYS.filter(lambda k, s=step: k != s), GOOD, max_size=2)
            )
            value = {**siblings, step: value}
        else:
            before = draw(st.lists(GOOD, min_size=step, max_size=step))
            value = [*before, value, *draw(st.lists(GOOD, max_size=2))]
    return value, "values" + "".join(f"[{step!r}]" for step in steps), problem


@given(case=_one_bad_value())
def test_a_refusal_names_the_path_to_the_bad_value(case: tuple[dict[str, Any], str, str]) -> None:
    """Wherever the bad value sits, the message names its path, then what is wrong with it."""
    values, path, problem = case
    with pytest.raises(DeclarationError) as refused:
        _release(values)
    assert str(refused.value).startswith(f"HelmRelease {path} {problem}")
    assert refused.value.keyword == "values"


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1.5}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def test_values_as_deep_as_the_limit_are_written() -> None:
    """MAX_DEPTH levels of dicts are accepted and written; one more is refused."""
    deepest = _release(_nested(MAX_DEPTH)).values
    assert yaml.safe_load(dump_document(deepest)) == deepest
    with pytest.raises(DeclarationError, match=rf"nests deeper than {MAX_DEPTH} levels"):
        _release(_nested(MAX_DEPTH + 1))


@pytest.mark.parametrize("through", ["dict", "list", "tuple"])
def test_a_value_inside_itself_is_named_with_where_it_repeats(through: str) -> None:
    """A cycle (which would hang the build) is said as the path that leads back."""
    inner: dict[str, Any] = {}
    outer = {"top": {"inner": inner}}
    container: Any = {"back": outer} if through == "dict" else [outer]
    if through == "tuple":
        container = tuple(container)
    inner["loop"] = container
    step = "['back']" if through == "dict" else "[0]"
    with pytest.raises(DeclarationError) as refused:
        _release({"outer": outer})
    assert str(refused.value) == (
        f"HelmRelease values['outer']['top']['inner']['loop']{step} contains itself (it is "
        "values['outer']); YAML cannot write a value inside itself: put a new dict or list there"
    )
