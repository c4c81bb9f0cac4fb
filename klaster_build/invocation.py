"""How this user runs klaster, so that messages name a command they have.

`./dev` exports `KLASTER_COMMAND=./dev` (it forwards `./dev todo`, `./dev explain`... to
klaster); anywhere else klaster is the command on PATH.
"""

from __future__ import annotations

import os

ENVIRONMENT_VARIABLE = "KLASTER_COMMAND"


def command(arguments: str) -> str:
    """`klaster <arguments>` as the user types it (`./dev todo` under ./dev)."""
    return f"{os.environ.get(ENVIRONMENT_VARIABLE) or 'klaster'} {arguments}"
