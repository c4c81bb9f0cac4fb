"""docs/app-guide.md is true: every apps.d example in it builds, and produces what the guide shows.

The guide is parsed in a fixed shape (see its "How this guide is tested" section):
- a ```python block whose first line is `# apps.d/<name>.py` is a whole apps.d file; a leading
  `# expect-error: TEXT` makes it a broken variant (the build must exit 2 and print TEXT, and
  write nothing), `# expect-warning: TEXT` one that builds with that warning;
- the fenced blocks after it, up to the next python block, belong to it: a file excerpt whose first
  line is `# out/<path>` (or `# renovate.json`) must be contained in that generated file (YAML and
  JSON structurally: every key and list item shown is there with that value; other text line by
  line, in order), and a ```console block shows commands (`$ klaster build`, `$ klaster todo`)
  whose printed lines must appear in that order in the real output;
- `<!-- with: apps.d/<name>.py -->` after a block builds an earlier example beside it, and
  `<!-- klasterfile: talos -->` builds it with Talos settings in the klasterfile, and
  `<!-- renovate-extracts: DATASOURCE PACKAGE VERSION -->` says the generated renovate.json's
  regex managers find that version in it.
Any other fenced block, or an example that shows nothing it generates, fails the test.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml
from conftest import KLASTERFILE, REPO, ProjectDir

GUIDE = REPO / "docs" / "app-guide.md"
FENCE = re.compile(r"^```(\S*)\s*$")
MARKER = re.compile(r"^<!--\s*(with|klasterfile|renovate-extracts):\s*(.+?)\s*-->\s*$")
APP_FILE = re.compile(r"^# (apps\.d/[^/\s]+\.py)$")
EXPECT = re.compile(r"^# expect-(error|warning): (.+)$")
EXCERPT_HEADER = re.compile(r"^(?:#|//) ((?:out/\S+)|renovate\.json)(?: \(excerpt\))?$")
EXCERPT_LANGUAGES = frozenset({"yaml", "json", "hcl", "make", "text"})
SKIP = "..."


def _talos_klasterfile() -> str:
    text = KLASTERFILE.replace(
        "StorageTier, VaultSettings", "StorageTier, TalosSettings, VaultSettings"
    ).replace(
        "    intervals=",
        '    talos=TalosSettings(cluster_name="test", endpoint="https://kube.example.org:6443",'
        " base_patches=[]),\n    intervals=",
    )
    assert "talos=TalosSettings" in text and "TalosSettings," in text
    return text


KLASTERFILES = {"talos": _talos_klasterfile()}


@dataclass
class Block:
    """A fenced block of the guide."""

    language: str
    lines: list[str]
    line: int  # 1-based line of the opening fence


@dataclass
class Example:
    """An apps.d file of the guide and what the guide says about it."""

    path: str
    source: str
    line: int
    expect: str = "ok"  # ok | error | warning
    expected_text: str = ""
    excerpts: list[Block] = field(default_factory=list)
    consoles: list[Block] = field(default_factory=list)
    companions: list[Example] = field(default_factory=list)
    renovate: list[tuple[str, ...]] = field(default_factory=list)
    klasterfile: str = KLASTERFILE

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.path.removeprefix('apps.d/')}"


def _blocks_and_markers(text: str) -> list[Block | tuple[str, str, int]]:
    """The fenced blocks and `<!-- key: value -->` markers of the guide, in order."""
    items: list[Block | tuple[str, str, int]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        marker = MARKER.match(lines[index])
        if marker:
            items.append((marker[1], marker[2], index + 1))
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != "```":
            end += 1
        items.append(Block(opening[1], lines[index + 1 : end], index + 1))
        index = end + 1
    return items


def parse_guide(text: str) -> tuple[list[Example], list[str]]:
    """The guide's examples, and every way the guide breaks the shape the test relies on."""
    examples: list[Example] = []
    problems: list[str] = []
    for item in _blocks_and_markers(text):
        current = examples[-1] if examples else None
        if isinstance(item, tuple):
            key, value, line = item
            if current is None:
                problems.append(f"line {line}: <!-- {key}: --> before any example")
            elif key == "klasterfile" and value in KLASTERFILES:
                current.klasterfile = KLASTERFILES[value]
            elif key == "renovate-extracts" and len(value.split()) == 3:
                current.renovate.append(tuple(value.split()))
            elif key == "with":
                earlier = [e for e in examples[:-1] if e.path == value and e.expect != "error"]
                if earlier:
                    current.companions.append(earlier[-1])
                else:
                    problems.append(f"line {line}: no earlier example {value} that builds")
            else:
                problems.append(f"line {line}: cannot read <!-- {key}: {value} -->")
            continue
        block = item
        if block.language == "python":
            header = APP_FILE.match(block.lines[0]) if block.lines else None
            if header is None:
                problems.append(
                    f"line {block.line}: a python block must start with '# apps.d/<name>.py'"
                )
                continue
            example = Example(header[1], "\n".join(block.lines) + "\n", block.line)
            for line in block.lines[1:4]:
                expect = EXPECT.match(line)
                if expect:
                    example.expect, example.expected_text = expect[1], expect[2]
            examples.append(example)
        elif current is None:
            problems.append(
                f"line {block.line}: a {block.language or 'plain'} block before any example"
            )
        elif block.language == "console":
            if not block.lines or not block.lines[0].startswith("$ klaster "):
                problems.append(f"line {block.line}: a console block starts with '$ klaster ...'")
            else:
                current.consoles.append(block)
        elif (
            block.language in EXCERPT_LANGUAGES
            and block.lines
            and EXCERPT_HEADER.match(block.lines[0])
        ):
            current.excerpts.append(block)
        else:
            problems.append(
                f"line {block.line}: a ```{block.language} block must be a file excerpt starting "
                "with '# out/<path>' (yaml, json, hcl, make, text), a console block or an example"
            )
    for example in examples:
        if example.expect != "error" and not example.excerpts:
            problems.append(f"line {example.line}: {example.path} shows nothing it generates")
        if example.expect == "error" and example.excerpts:
            problems.append(f"line {example.line}: a broken example generates nothing to show")
    return examples, problems


EXAMPLES, PROBLEMS = parse_guide(GUIDE.read_text())


def contains(actual: Any, expected: Any) -> bool:
    """Whether `expected` is part of `actual`: every key and list item shown is there, equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(contains(item, wanted) for item in actual) for wanted in expected
        )
    return bool(actual == expected)


def lines_in_order(actual: str, expected: list[str]) -> list[str]:
    """The expected lines (stripped, `...` skipped) not found in order among the actual lines."""
    remaining = iter(line.strip() for line in actual.splitlines())
    return [
        line
        for line in (e.strip() for e in expected)
        if line and line != SKIP and not any(line == seen for seen in remaining)
    ]


def check_excerpt(project: ProjectDir, block: Block) -> None:
    header = EXCERPT_HEADER.match(block.lines[0])
    assert header is not None
    path = project.root / header[1]
    assert path.is_file(), f"guide line {block.line}: {header[1]} was not generated"
    text = path.read_text()
    body = "\n".join(block.lines[1:])
    if block.language in ("yaml", "json"):
        load = yaml.safe_load_all if block.language == "yaml" else lambda t: [json.loads(t)]
        actual = list(load(text))
        for wanted in load(body):
            assert any(contains(document, wanted) for document in actual), (
                f"guide line {block.line}: {header[1]} has no document containing\n{body}\n"
                f"--- it is:\n{text}"
            )
    else:
        missing = lines_in_order(text, block.lines[1:])
        assert not missing, (
            f"guide line {block.line}: {header[1]} lacks, in this order, {missing}\n--- it is:\n{text}"
        )


def check_console(block: Block, first_build: str, run: Any) -> None:
    commands: list[tuple[str, list[str]]] = []
    for line in block.lines:
        if line.startswith("$ "):
            commands.append((line[2:], []))
        else:
            commands[-1][1].append(line)
    for command, expected in commands:
        args = shlex.split(command)[1:]
        if args == ["build"]:
            output = first_build
        else:
            _, out, err = run(*args)
            output = out + err
        missing = lines_in_order(output, expected)
        assert not missing, (
            f"guide line {block.line}: `{command}` did not print, in this order, {missing}\n"
            f"--- it printed:\n{output}"
        )


def renovate_extracts(project: ProjectDir, path: str) -> set[tuple[str, ...]]:
    """(datasource, package, version) found in apps.d file `path` by renovate.json's regex
    managers, matched as Renovate matches them (its named groups spelt the Python way)."""
    config = json.loads((project.root / "renovate.json").read_text())
    source = (project.root / path).read_text()
    found: set[tuple[str, ...]] = set()
    for manager in config["customManagers"]:
        if not any(re.search(p.strip("/"), path) for p in manager["managerFilePatterns"]):
            continue
        for pattern in manager["matchStrings"]:
            for match in re.finditer(re.sub(r"\(\?<(?=[A-Za-z])", "(?P<", pattern), source):
                package = match.groupdict().get("depName") or manager["depNameTemplate"]
                found.add((manager["datasourceTemplate"], package, match["currentValue"]))
    return found


def test_guide_has_the_shape_the_test_reads() -> None:
    """Every fenced block of the guide is an example or something an example is checked against."""
    assert not PROBLEMS, "\n".join(PROBLEMS)
    assert len(EXAMPLES) >= 12  # one per guideline section at least


SAMPLE = """\
```python
# apps.d/web.py
from klaster_build.dsl import Container, Deployment

Deployment("web", replicas=2, containers=[Container("web", image="nginx:1.27.3")])
```

```yaml
# out/apps/web/deployment.yaml
spec: {replicas: REPLICAS}
```

```console
$ klaster build
klaster: wrote FILES files, removed 0, 0 unchanged
```
"""


@pytest.mark.parametrize(
    ("replicas", "files", "true"), [(2, 12, True), (3, 12, False), (2, 9, False)]
)
def test_a_false_claim_fails(
    project: ProjectDir, run: Any, no_color: None, replicas: int, files: int, true: bool
) -> None:
    """The checks hold a claim the build bears out, and reject one it does not."""
    text = SAMPLE.replace("REPLICAS", str(replicas)).replace("FILES", str(files))
    (example,), problems = parse_guide(text)
    assert problems == []
    (project.root / example.path).write_text(example.source)
    code, out, err = run("build")
    assert code == 0, err

    def check() -> None:
        check_excerpt(project, example.excerpts[0])
        check_console(example.consoles[0], out + err, run)

    if true:
        check()
    else:
        with pytest.raises(AssertionError, match="guide line"):
            check()


def test_blocks_outside_the_shape_are_reported() -> None:
    """An unnamed python block, an excerpt naming no file, a stray block and an example that
    shows nothing each make the shape test fail."""
    text = (
        "```yaml\n# out/x.yaml\na: 1\n```\n"
        "```python\nprint(1)\n```\n"
        "```python\n# apps.d/web.py\n```\n"
        "```yaml\na: 1\n```\n"
    )
    examples, problems = parse_guide(text)
    assert [e.path for e in examples] == ["apps.d/web.py"]
    assert [p.split(":", 1)[0] for p in problems] == ["line 1", "line 5", "line 11", "line 8"]


def test_readme_links_the_guide() -> None:
    """The DSL tour points at the guide."""
    assert "(docs/app-guide.md)" in (REPO / "README.md").read_text()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_builds_as_the_guide_says(
    example: Example, project: ProjectDir, run: Any, no_color: None
) -> None:
    """The example builds (or fails with the quoted error), and generates what the guide shows."""
    (project.root / "klasterfile.py").write_text(example.klasterfile)
    for companion in example.companions:
        (project.root / companion.path).write_text(companion.source)
    (project.root / example.path).write_text(example.source)
    code, out, err = run("build")
    first_build = out + err
    if example.expect == "error":
        assert code == 2, first_build
        assert example.expected_text in err
        assert not project.out.exists()
    else:
        assert code == 0, first_build
        if example.expect == "warning":
            assert example.expected_text in err
        else:
            assert ": warning: " not in err, err
    for block in example.excerpts:
        check_excerpt(project, block)
    for block in example.consoles:
        check_console(block, first_build, run)
    if example.renovate:
        assert set(example.renovate) <= renovate_extracts(project, example.path)
