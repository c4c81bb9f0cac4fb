"""The floor the benchmarks compare against: plain PyYAML writing the same documents.

Reads the documents (pickled by run.py from a klaster build, outside any timing) and writes them
one file each, no graph, no checks: `python floor.py DOCS.pickle OUT_DIR [--pure]`.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import yaml


def main() -> None:
    """Write every file of the pickle with yaml.dump_all."""
    docs_path, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    dumper = yaml.SafeDumper if "--pure" in sys.argv else yaml.CSafeDumper
    files: dict[str, list[object]] = pickle.loads(docs_path.read_bytes())
    for relative, documents in files.items():
        target = out_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            yaml.dump_all(documents, Dumper=dumper, sort_keys=False, explicit_start=True)
        )


if __name__ == "__main__":
    main()
