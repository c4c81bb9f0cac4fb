"""Every record family's emitters and invariants, imported once before rendering.

An explicit list (no discovery): a family is in klaster when it is named here.
"""

from klaster_build.emit import core, exposure, infra, renovate, storage, vault, volumes

__all__ = ["core", "exposure", "infra", "renovate", "storage", "vault", "volumes"]
