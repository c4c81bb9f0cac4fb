"""The Kubernetes objects klaster writes, written by cdk8s instead: the comparison run.py times.

    python cdk8s_app.py DOCS.pickle OUT_DIR

DOCS.pickle holds klaster's out/ parsed once (run.py, outside any timing): {path: [document]}.
Every Kubernetes object (a document with apiVersion and kind) becomes a plain `cdk8s.ApiObject`
holding the same fields, in one `Chart` per folder of out/ (one per app, as a cdk8s user would
write it), and `App.synth()` writes a folder per chart, a file per object.

Choices that favour cdk8s, so the comparison errs on its side:
- cdk8s's Python API takes only apiVersion, kind and metadata as arguments; the other top-level
  fields go in as JSON patches, its documented way for fields it has no argument for.
- The folder-per-chart layout: with the default file-per-chart layout every chart's synthesis
  resolves and validates the whole app again (cdk8s lib/app.js, `App._synthChart`), which is
  quadratic in the number of charts (1000 apps took about ten minutes with a chart per file).
- Documents that are not Kubernetes objects (Vault role bodies) and files that are not YAML are
  left out: cdk8s writes less than klaster.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path, PurePosixPath

import cdk8s

# The fields ApiObject takes as arguments; the rest of a document is patched in.
ARGUMENTS = ("apiVersion", "kind", "metadata")


def is_kubernetes_object(document: object) -> bool:
    """Whether cdk8s can hold `document` as an ApiObject."""
    return isinstance(document, dict) and "apiVersion" in document and "kind" in document


def add_object(chart: cdk8s.Chart, object_id: str, document: dict[str, object]) -> None:
    """One ApiObject with the document's fields."""
    metadata = document.get("metadata", {})
    api_object = cdk8s.ApiObject(
        chart,
        object_id,
        api_version=document["apiVersion"],
        kind=document["kind"],
        metadata=cdk8s.ApiObjectMetadata(**metadata),
    )
    for field, value in document.items():
        if field not in ARGUMENTS:
            api_object.add_json_patch(cdk8s.JsonPatch.add(f"/{field}", value))


def build_app(files: dict[str, list[object]], out_dir: str) -> cdk8s.App:
    """The app: a chart per folder of klaster's out/, an ApiObject per Kubernetes object."""
    app = cdk8s.App(
        outdir=out_dir, yaml_output_type=cdk8s.YamlOutputType.FOLDER_PER_CHART_FILE_PER_RESOURCE
    )
    charts: dict[str, cdk8s.Chart] = {}
    for relative, documents in files.items():
        path = PurePosixPath(relative)
        folder = "--".join(path.parent.parts) or "top"
        for index, document in enumerate(documents):
            if is_kubernetes_object(document):
                if folder not in charts:
                    charts[folder] = cdk8s.Chart(app, folder)
                add_object(charts[folder], f"{path.stem}-{index}", document)
    return app


def main() -> None:
    """Build the app from the pickle and synthesise it into OUT_DIR."""
    files: dict[str, list[object]] = pickle.loads(Path(sys.argv[1]).read_bytes())
    build_app(files, sys.argv[2]).synth()


if __name__ == "__main__":
    main()
