"""The benchmark's smoke test: `bench/run.py --quick` on a tiny cluster prints every target and
every measurement in rows that parse, and cdk8s writes the objects klaster wrote. No timing is
asserted (the machine is shared; bench/RESULTS.md holds the measured figures)."""

from __future__ import annotations

import json
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
from run import CDK8S_VENV, Target  # noqa: E402

APPS = 3
CDK8S_INSTALLED = (CDK8S_VENV / ".installed").exists()
TARGETS = [
    "own cluster: build after an edit",
    "own cluster: --check on a fresh clone",
    f"{APPS} apps: full build / C-dumper floor",
    f"{APPS} apps: cdk8s / full build",
    f"{APPS} apps: no-op --check",
]
TARGET_ROW = re.compile(
    r"\| (?P<name>[^|]+) \| (?P<measured>\d+\.\d{3} s|\d+\.\d\dx|-) \| (?P<limit>(<=|>=) [\d.]+( s|x)) "
    r"\| (?P<verdict>PASS|FAIL|SKIPPED: .+) \|"
)
MEASUREMENT_ROW = re.compile(
    r"\| (?P<name>[^|]+) \| (?P<seconds>\d+\.\d{3}) \| \d+\.\d\d \| \d+\.\d\d \| (?P<peak>\d+) \|"
)


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """One quick bench run (cdk8s only where a run of the bench installed it): its output and
    its work folder."""
    work = tmp_path_factory.mktemp("bench")
    skip = [] if CDK8S_INSTALLED else ["--skip-cdk8s"]
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--apps", str(APPS),
         "--work", str(work), *skip],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout, work


def section(text: str, heading: str) -> list[str]:
    """The table rows under a `## heading` line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"## {heading}"))
    rows = []
    for line in lines[start + 3 :]:  # past the heading, the table's header and its rule
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def test_every_target_is_a_row_with_a_verdict(bench: tuple[str, Path]) -> None:
    text, _ = bench
    rows = [TARGET_ROW.fullmatch(row) for row in section(text, "Targets")]
    assert all(rows), section(text, "Targets")
    assert [row["name"] for row in rows if row] == TARGETS
    verdicts = {row["name"]: row["verdict"] for row in rows if row}
    measured = {row["name"]: row["measured"] for row in rows if row}
    cdk8s = f"{APPS} apps: cdk8s / full build"
    if CDK8S_INSTALLED:
        assert verdicts[cdk8s] in ("PASS", "FAIL")
    else:
        assert verdicts[cdk8s] == "SKIPPED: --skip-cdk8s"
        assert measured[cdk8s] == "-"
    assert all(verdicts[name] in ("PASS", "FAIL") for name in TARGETS if name != cdk8s)


def test_every_measurement_is_a_row_of_numbers(bench: tuple[str, Path]) -> None:
    text, _ = bench
    own = [MEASUREMENT_ROW.fullmatch(row) for row in section(text, "Own cluster")]
    synthetic = [MEASUREMENT_ROW.fullmatch(row) for row in section(text, f"{APPS} apps (")]
    assert all(own) and all(synthetic), text
    assert all(int(row["peak"]) > 0 for row in own + synthetic if row)
    names = {row["name"] for row in synthetic if row}
    assert ("cdk8s: same Kubernetes objects" in names) == CDK8S_INSTALLED
    documents = re.search(rf"## {APPS} apps \((\d+) documents\)", text)
    assert documents and int(documents[1]) > 0


def canonical(document: object) -> str:
    """A document as cdk8s writes it: no null values; key order does not matter."""

    def drop_nulls(value: object) -> object:
        if isinstance(value, dict):
            return {k: drop_nulls(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [drop_nulls(v) for v in value]
        return value

    return json.dumps(drop_nulls(document), sort_keys=True)


@pytest.mark.skipif(not CDK8S_INSTALLED, reason="cdk8s is installed by the first ./dev bench")
def test_cdk8s_writes_the_objects_klaster_wrote(bench: tuple[str, Path]) -> None:
    _, work = bench
    files = pickle.loads((work / f"c{APPS}.pickle").read_bytes())
    ours = [
        d for documents in files.values() for d in documents if isinstance(d, dict) and "kind" in d
    ]
    theirs = [yaml.safe_load(p.read_text()) for p in (work / f"cdk8s{APPS}").rglob("*.yaml")]
    # cdk8s names every object; klaster's kustomize files (kustomization.yaml) have no name.
    nameless = {(d["apiVersion"], d["kind"]) for d in ours if "name" not in d.get("metadata", {})}
    for document in theirs:
        if (document["apiVersion"], document["kind"]) in nameless:
            document["metadata"].pop("name")
            if not document["metadata"]:
                del document["metadata"]
    assert sorted(map(canonical, theirs)) == sorted(map(canonical, ours))


@given(
    value=st.floats(0, 100, allow_nan=False),
    limit=st.floats(0.1, 100, allow_nan=False),
    at_least=st.booleans(),
)
def test_a_target_passes_exactly_when_its_value_is_on_the_right_side_of_the_limit(
    value: float, limit: float, at_least: bool
) -> None:
    row = Target("t", value, "x", limit, at_least=at_least).row()
    passed = value >= limit if at_least else value <= limit
    assert row.endswith("| PASS |" if passed else "| FAIL |")
