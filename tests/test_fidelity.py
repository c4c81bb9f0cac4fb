"""The generated tree reproduces the real repository, except for documented differences."""

from __future__ import annotations

import re

import pytest
from conftest import REPO
from fidelity import REFERENCE, compare

DIFFERENCES = REPO / "docs" / "differences.md"


def documented() -> dict[str, tuple[str, str]]:
    """Rows of docs/differences.md: document -> (status, reason)."""
    rows = {}
    for line in DIFFERENCES.read_text().splitlines():
        match = re.match(r"^\| ([^|]+?) \| (different|missing|extra) \| (.+) \|$", line)
        if match:
            rows[match[1]] = (match[2], match[3])
    return rows


@pytest.mark.skipif(
    not REFERENCE.is_dir(),
    reason="../shared/reference (the real repo's files) is not beside the checkout",
)
def test_every_difference_from_the_real_repo_is_explained(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Print the share reproduced; fail on a difference docs/differences.md does not explain."""
    result = compare(REPO / "out")
    same = sum(status == "same" for status in result.values())
    real = sum(status != "extra" for status in result.values())
    with capsys.disabled():
        print(
            f"\nfidelity: {same} of {real} real documents reproduced exactly ({100 * same / real:.0f}%)"
        )
    rows = documented()
    unexplained = [
        f"{'/'.join(key)} is {status}"
        for key, status in result.items()
        if status != "same" and rows.get("/".join(key), ("", ""))[0] != status
    ]
    assert not unexplained, "add these to docs/differences.md with a reason:\n" + "\n".join(
        unexplained
    )
    stale_rows = [
        name
        for name in rows
        if tuple(name.split("/", 2)) not in result or result[tuple(name.split("/", 2))] == "same"
    ]  # type: ignore[index]
    assert not stale_rows, (
        f"docs/differences.md lists documents that no longer differ: {stale_rows}"
    )
    assert all(
        reason.split(":")[0] in {"guideline", "stale", "improvement", "data"}
        for _, reason in rows.values()
    )
    assert same / real > 0.7
