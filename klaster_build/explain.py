"""The DSL's reference, generated from the DSL itself: `klaster explain [NAME]` and the messages
for a wrong argument or attribute of a record.

What a user can write is exactly `klaster_build.dsl.__all__`; everything shown comes from the
exported objects: attrs fields (type, default, required), the comments above a field, docstrings,
public properties and methods, and the docstring's `Example:` block.
"""

from __future__ import annotations

import ast
import difflib
import functools
import inspect
import io
import re
import textwrap
import tokenize
from collections.abc import Callable
from typing import Any

import attrs

from klaster_build import dsl, naming
from klaster_build.cluster import Cluster
from klaster_build.errors import Mistake, did_you_mean
from klaster_build.invocation import command
from klaster_build.records.base import Record

GROUPS = {
    "record": "Records (declare them in apps.d/*.py; each is a node of the graph)",
    "value": "Values (arguments of records, not records themselves)",
    "function": "Functions",
    "object": "Objects (the klasterfile's settings, read by apps.d files as references)",
    "settings": "Cluster settings (klasterfile.py)",
}
# Members every record has (`kind`, `address`...): plumbing, not part of one record's API.
_RECORD_PLUMBING = frozenset(vars(Record)) | {"origin", "app"}


@attrs.frozen
class Argument:
    """One argument of a DSL class, as its attrs field declares it."""

    name: str
    type: str
    default: str | None  # None: required
    position: int | None  # 1 for the first argument that may be given without its name
    note: str  # the comment written above or after the field


@attrs.frozen
class Member:
    """A public property, method or made-by-the-record field: what other records can use."""

    name: str  # `secret_key(key: str)` for methods
    type: str
    summary: str


@attrs.frozen
class Entry:
    """One exported name of the DSL."""

    name: str
    target: Any
    group: str

    @property
    def summary(self) -> str:
        """The first line of the docstring."""
        return _prose(self.target).split("\n\n", 1)[0].replace("\n", " ")


def _group(target: Any) -> str:
    if not inspect.isclass(target):
        return "function" if callable(target) else "object"
    if issubclass(target, Record):
        return "record"
    if target.__module__ == Cluster.__module__:
        return "settings"
    return "value"


@functools.cache
def catalogue() -> dict[str, Entry]:
    """Every name `from klaster_build.dsl import *` gives, in the DSL's own order."""
    return {
        name: Entry(name, getattr(dsl, name), _group(getattr(dsl, name))) for name in dsl.__all__
    }


def find(name: str) -> Entry | None:
    """The entry called `name` (any case when that is unambiguous)."""
    entries = catalogue()
    if name in entries:
        return entries[name]
    folded = [e for e in entries.values() if e.name.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def _docstring(target: Any) -> str:
    return inspect.getdoc(target) or ""


def _prose(target: Any) -> str:
    """The docstring without its Example block."""
    return _docstring(target).split("\nExample:", 1)[0].strip()


def example(target: Any) -> str | None:
    """The docstring's `Example:` block, dedented; None when it has none."""
    _, found, block = _docstring(target).partition("Example:\n")
    return textwrap.dedent(block).strip() if found else None


def _shown_default(field: attrs.Attribute[Any]) -> str | None:
    default = field.default
    if default is attrs.NOTHING:
        return None
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]  # a class, typed as a function
        factory = getattr(default, "factory", None)
        return repr(factory()) if factory in (dict, list, tuple, set) else "computed"
    return repr(default)


def _is_public(field: attrs.Attribute[Any]) -> bool:
    # repr=False marks state the user never sets or reads (origin, app, VaultStaticSecret.source).
    return field.repr is not False and not field.name.startswith("_")


def arguments(kind: type) -> list[Argument]:
    """The arguments a DSL class takes, in order."""
    positional = [
        p.name
        for p in inspect.signature(kind).parameters.values()
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    notes = _field_notes(kind)
    return [
        Argument(
            name=field.alias or field.name,
            type=str(field.type or "Any"),
            default=_shown_default(field),
            position=positional.index(field.alias) + 1 if field.alias in positional else None,
            note=notes.get(field.name, ""),
        )
        for field in attrs.fields(kind)
        if field.init and _is_public(field)
    ]


def members(kind: type) -> list[Member]:
    """What a DSL object offers besides its arguments: fields it makes, properties, methods."""
    fields = attrs.fields(kind) if attrs.has(kind) else ()
    field_names = {f.name for f in fields}
    notes = _field_notes(kind)
    found = [
        Member(field.name, str(field.type), notes.get(field.name, ""))
        for field in fields
        if not field.init and _is_public(field)
    ]
    seen = set(field_names)
    for owner in reversed(kind.__mro__):
        if owner in (object, Record):
            continue
        for name, value in vars(owner).items():
            if name.startswith("_") or name in seen or name in _RECORD_PLUMBING:
                continue
            seen.add(name)
            if isinstance(value, property) and value.fget is not None:
                returns = value.fget.__annotations__.get("return", "")
                found.append(Member(name, str(returns), _first_paragraph(value.fget)))
            elif inspect.isfunction(value):
                returns = value.__annotations__.get("return", "")
                found.append(
                    Member(
                        f"{name}{_signature(value, method=True)}",
                        str(returns),
                        _first_paragraph(value),
                    )
                )
    return found


@attrs.frozen
class _Annotation:
    """An annotation string shown as written (`from __future__ import annotations` keeps them
    as strings, which a signature would quote)."""

    text: str

    def __repr__(self) -> str:
        return self.text


def _signature(function: Callable[..., Any], *, method: bool = False) -> str:
    """`(parameters) -> returns` as the source spells it; a method's `self` is left out."""
    signature = inspect.signature(function)
    parameters = list(signature.parameters.values())[1 if method else 0 :]
    shown = signature.replace(
        parameters=[
            p
            if p.annotation is inspect.Parameter.empty
            else p.replace(annotation=_Annotation(str(p.annotation)))
            for p in parameters
        ],
        return_annotation=inspect.Signature.empty,
    )
    return str(shown)


def _first_paragraph(target: Any) -> str:
    return _docstring(target).split("\n\n", 1)[0].replace("\n", " ")


def _field_notes(kind: type) -> dict[str, str]:
    """The comments written above (or after) each field, base classes first."""
    notes: dict[str, str] = {}
    for owner in reversed(kind.__mro__):
        if attrs.has(owner):
            notes.update(_own_field_notes(owner))
    return notes


@functools.cache
def _own_field_notes(owner: type) -> dict[str, str]:
    try:
        source = textwrap.dedent(inspect.getsource(owner))
    except (OSError, TypeError):  # no source (a frozen app): the reference has no notes
        return {}
    lines = source.splitlines()
    comments = {
        token.start[0]: token.string.lstrip("#").strip()
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.COMMENT
    }
    notes = {}
    klass = ast.parse(source).body[0]
    assert isinstance(klass, ast.ClassDef)
    for node in klass.body:
        if not isinstance(node, ast.AnnAssign) or not isinstance(node.target, ast.Name):
            continue
        above: list[str] = []
        line = node.lineno - 1
        while line in comments and lines[line - 1].lstrip().startswith("#"):
            above.insert(0, comments[line])
            line -= 1
        after = [
            comments[n]
            for n in range(node.lineno, (node.end_lineno or node.lineno) + 1)
            if n in comments
        ]
        note = " ".join(above + after)
        if note:
            notes[node.target.id] = note
    return notes


_WHAT = {
    "record": "a record (declare it in apps.d/*.py)",
    "value": "a value (an argument of records)",
    "function": "a function",
    "object": "an object apps.d files read",
    "settings": "a cluster setting (klasterfile.py)",
}


def _table(rows: list[tuple[str, str, str, str]]) -> list[str]:
    """Aligned `name  type  detail` lines, each followed by its note."""
    name_width = max(len(r[0]) for r in rows) + 2
    type_width = max(len(r[1]) for r in rows) + 2
    lines = []
    for name, kind, detail, note in rows:
        lines.append(f"  {name:<{name_width}}{kind:<{type_width}}{detail}".rstrip())
        if note:
            lines.append(
                textwrap.fill(note, 100, initial_indent=" " * 6, subsequent_indent=" " * 6)
            )
    return lines


def describe(entry: Entry) -> str:
    """The full reference text of one DSL name."""
    target = entry.target
    lines = [f"{entry.name}: {_WHAT[entry.group]}"]
    if entry.group == "function":
        lines.append(f"  {entry.name}{_signature(target)}")
    lines += ["", _prose(target)]
    if entry.group == "object":
        lines += ["", "What it offers (attributes, properties and methods):"]
        lines += _table([(f".{m.name}", m.type, "", m.summary) for m in members(type(target))])
    if inspect.isclass(target):
        rows = []
        for argument in arguments(target):
            detail = "required" if argument.default is None else f"default {argument.default}"
            if argument.position:
                detail += f"; may be given unnamed, as argument {argument.position}"
            rows.append((argument.name, argument.type, detail, argument.note))
        lines += ["", "Arguments:", *_table(rows)]
        offered = members(target)
        if offered:
            lines += ["", "What it offers (attributes, properties and methods):"]
            lines += _table([(f".{m.name}", m.type, "", m.summary) for m in offered])
        if entry.group == "record":
            lines += [
                "",
                "Pass the record itself where its name is wanted (workload=app); refer to another "
                f"app's record with ref('app/{entry.name}/name').",
            ]
    shown = example(target)
    if shown:
        lines += ["", "Example:", textwrap.indent(shown, "    ")]
    return "\n".join(lines) + "\n"


def overview() -> str:
    """Every DSL name with its summary, by group."""
    entries = sorted(catalogue().values(), key=lambda e: e.name.lower())
    width = max(len(e.name) for e in entries) + 2
    lines = []
    for group, title in GROUPS.items():
        lines += [f"{title}:"]
        lines += [f"  {e.name:<{width}}{e.summary}" for e in entries if e.group == group]
        lines.append("")
    lines += ["How arguments are named:", textwrap.indent(naming_rules(), "  "), ""]
    lines.append(
        f"'{command('explain NAME')}' shows a name's arguments, references and an example."
    )
    return "\n".join(lines) + "\n"


def naming_rules() -> str:
    """The naming table's rules, as the naming module states them."""
    return (naming.__doc__ or "").split("The rules:\n", 1)[-1].strip()


def unknown(name: str) -> str:
    """The message for a name the DSL does not export."""
    names = list(catalogue())
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5) or difflib.get_close_matches(
        name.lower(), [n.lower() for n in names], n=3, cutoff=0.5
    )
    spelled = [n for n in names if n.lower() in {c.lower() for c in close}]
    hint = f"; did you mean {' or '.join(spelled)}?" if spelled else ""
    return f"the DSL has no {name!r}{hint} ('{command('explain')}' lists every name)"


# Messages Python gives for a call that does not fit an attrs-generated __init__.
_INIT_CALL = re.compile(r"^(?P<kind>\w+)\.__init__\(\) (?P<problem>.+)$")
_UNEXPECTED = re.compile(r"got an unexpected keyword argument '(\w+)'")
_MISSING = re.compile(r"missing \d+ required (?:keyword-only |positional )?arguments?: (.+)")
_TOO_MANY = re.compile(
    r"takes (?:from \d+ to )?(\d+) positional arguments? but (\d+) (?:was|were) given"
)
_TWICE = re.compile(r"got multiple values for argument '(\w+)'")


def call_mistake(error: TypeError) -> Mistake | None:
    """A wrong, missing or surplus argument to a DSL class; None for any other TypeError."""
    match = _INIT_CALL.match(str(error))
    entry = catalogue().get(match["kind"]) if match else None
    if match is None or entry is None or not attrs.has(entry.target):
        return None
    kind, problem = entry.name, match["problem"]
    taken = arguments(entry.target)
    names = [a.name for a in taken]
    see = f"see '{command(f'explain {kind}')}'"
    if found := _UNEXPECTED.match(problem):
        wrong = found[1]
        return Mistake(
            f"has no argument {wrong!r}",
            record=kind,
            instead=_offer(did_you_mean(wrong, names), "Its arguments", names, see),
            keyword=wrong,
        )
    if found := _MISSING.match(problem):
        missing = " and ".join(repr(m) for m in re.findall(r"'(\w+)'", found[1]))
        required = [a.name for a in taken if a.default is None]
        return Mistake(f"needs {missing} (required: {', '.join(required)}; {see})", record=kind)
    if found := _TOO_MANY.match(problem):
        unnamed = [repr(a.name) for a in taken if a.position]
        given = int(found[2]) - 1  # Python counts `self`
        return Mistake(
            f"takes {len(unnamed)} unnamed argument{'s' * (len(unnamed) != 1)} "
            f"({', '.join(unnamed)})",
            record=kind,
            got=str(given),
            instead=f"name the others (its arguments: {', '.join(names)}; {see})",
        )
    if found := _TWICE.match(problem):
        return Mistake(
            f"got {found[1]!r} twice, unnamed and by name", record=kind, instead="give it once"
        )
    return None


def attribute_mistake(error: AttributeError) -> Mistake | None:
    """A misspelt attribute of a record or DSL value (`db.app_secrets`), or an attempt to change
    one; None for any other object."""
    if isinstance(error, attrs.exceptions.FrozenInstanceError):
        return Mistake(
            "records and values cannot be changed once declared",
            instead="give the value as an argument where it is declared",
        )
    target = getattr(error, "obj", None)
    kind = type(target)
    explained = catalogue().get(kind.__name__)
    if error.name is None or not (
        isinstance(target, Record) or (explained is not None and explained.target is kind)
    ):
        return None
    offered = [m.name for m in members(kind)]
    given = [a.name for a in arguments(kind)]
    plain = [m.split("(")[0] for m in offered] + given
    see = f"see '{command(f'explain {kind.__name__}')}'" if explained else ""
    return Mistake(
        f"has no attribute {error.name!r}",
        record=kind.__name__,
        instead=_offer(did_you_mean(error.name, plain), "It has", [*offered, *given], see),
    )


def _offer(suggestion: str, lead: str, names: list[str], see: str) -> str:
    """What to write instead of a wrong name: the closest one, then every one there is."""
    listed = f"{', '.join(names)}" + (f" ({see})" if see else "")
    # A sentence after the question, a clause after the template's "; " without one.
    return f"{suggestion} {lead}: {listed}" if suggestion else f"{lead.lower()}: {listed}"
