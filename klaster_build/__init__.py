"""klaster: declare a Flux GitOps repository in plain Python and build it.

Engine API only; apps.d files and klasterfile.py import :mod:`klaster_build.dsl`.
"""

from klaster_build.errors import KlasterError, Problem, ProblemsFound

__all__ = ["KlasterError", "Problem", "ProblemsFound"]
