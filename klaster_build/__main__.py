"""`python -m klaster_build` runs the CLI."""

from klaster_build.cli import main

raise SystemExit(main())
