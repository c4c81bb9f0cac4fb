"""Record families, one module each (frozen attrs classes, validated at construction).

Which record types klaster builds is the explicit tuple `klaster_build.families.FAMILIES`;
apps.d files import them through `klaster_build.dsl`.
"""
