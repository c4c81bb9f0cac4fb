"""One shape for every user error: a Mistake's parts, rendered by one template."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from klaster_build.errors import DeclarationError, Mistake, Problem, did_you_mean
from klaster_build.origin import Origin
from klaster_build.records.workloads import Service
from klaster_build.registry import session

PACKAGE = Path(__file__).resolve().parent.parent / "klaster_build"
PART = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@given(wrong=PART.filter(bool), record=PART, field=PART, got=PART, instead=PART)
def test_the_template_joins_the_parts_it_has(
    wrong: str, record: str, field: str, got: str, instead: str
) -> None:
    """`<record> '<field>' <wrong>, got <got>; <instead>`, each empty part left out with its
    separator: no message starts with a space or has ', got ' or '; ' with nothing after."""
    mistake = Mistake(wrong, record=record, field=field, got=got, instead=instead)
    head = " ".join(p for p in (record, repr(field) if field else "", wrong) if p)
    expected = head + (f", got {got}" if got else "") + (f"; {instead}" if instead else "")
    assert str(mistake) == expected
    assert str(Mistake(wrong)) == wrong


def test_a_rule_finding_is_said_of_the_record_and_argument() -> None:
    """`about` places a rule's finding (what is wrong, the value, the fix) on a record."""
    finding = Mistake("must be a DNS-1123 name (...)", got="'Web'", instead="e.g. 'web'")
    said = finding.about("Service", "name")
    assert str(said) == "Service 'name' must be a DNS-1123 name (...), got 'Web'; e.g. 'web'"
    assert (said.wrong, said.got, said.instead) == (finding.wrong, finding.got, finding.instead)


def test_a_declaration_error_carries_its_parts() -> None:
    """A refused declaration is a DeclarationError whose Mistake names record, argument and
    value; its text is the template's."""
    with session(app="a"), pytest.raises(DeclarationError) as refused:
        Service("Web")
    mistake = refused.value.mistake
    assert (mistake.record, mistake.field, mistake.got) == ("Service", "name", "'Web'")
    assert mistake.instead == "e.g. 'web'"
    assert str(refused.value) == str(mistake)


def test_a_record_problem_is_at_its_line_and_address() -> None:
    with session(app="a"):
        service = Service("web")
    problem = Problem.at(service, Mistake("is wrong"), severity="warning")
    assert (problem.origin, problem.subject, problem.severity) == (
        service.origin,
        "a/Service/web",
        "warning",
    )
    assert str(problem) == f"{service.origin}: warning: is wrong"


def test_problems_sort_by_place_then_by_what_they_say() -> None:
    here = Origin("apps.d/a.py", 3)
    problems = [
        Problem(here, Mistake("b")),
        Problem(Origin("apps.d/a.py", 1), Mistake("z")),
        Problem(here, Mistake("a")),
    ]
    assert [p.message for p in sorted(problems)] == ["z", "a", "b"]


@pytest.mark.parametrize(
    ("wrong", "names", "most", "said"),
    [
        ("sise", ["name", "size", "tier"], 1, "did you mean 'size'?"),
        ("SIZE", ["name", "size"], 1, "did you mean 'size'?"),
        (
            "wiki-dat",
            ["wiki-data", "wiki-date", "other"],
            3,
            "did you mean 'wiki-date' or 'wiki-data'?",
        ),
        ("zzz", ["name", "size"], 1, ""),
    ],
)
def test_did_you_mean_names_the_closest(wrong: str, names: list[str], most: int, said: str) -> None:
    assert did_you_mean(wrong, names, most) == said


def _message_arguments() -> list[tuple[str, int, str]]:
    """(file, line, argument) of every Problem(...) or user error (DeclarationError(...),
    OwnershipError(...)...) whose message argument is written as text instead of a Mistake."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            position = {
                "Problem": 1,
                "at": 1,
                "UserError": 0,
                "DeclarationError": 0,
                "OwnershipError": 0,
                "ScaffoldError": 0,
            }.get(name)
            if position is None or len(node.args) <= position:
                continue
            argument = node.args[position]
            if isinstance(argument, ast.Constant | ast.JoinedStr | ast.BinOp):
                found.append((path.name, node.lineno, ast.unparse(argument)[:60]))
    return found


def test_no_message_is_written_as_bare_text() -> None:
    """Every error is built from a Mistake (mypy refuses a str too; this names the place)."""
    assert _message_arguments() == []
