"""klaster's values <-> JSON: one cattrs converter for every machine-readable output."""

from __future__ import annotations

import json

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override

from klaster_build.operator import OperatorStep
from klaster_build.origin import Origin
from klaster_build.views import GraphEdge

CONVERTER = cattrs.Converter()
CONVERTER.register_unstructure_hook(Origin, str)
CONVERTER.register_unstructure_hook(
    GraphEdge,
    make_dict_unstructure_fn(
        GraphEdge, CONVERTER, source=override(rename="from"), target=override(rename="to")
    ),
)
CONVERTER.register_unstructure_hook(
    OperatorStep, make_dict_unstructure_fn(OperatorStep, CONVERTER, order=override(omit=True))
)


def dumps(value: object) -> str:
    """Stable, indented JSON of `value` (attrs classes through the converter)."""
    return json.dumps(CONVERTER.unstructure(value), indent=2) + "\n"
