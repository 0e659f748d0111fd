"""`python -m station.cli …`: the same as the `worun-station` command."""

from station.cli import main

raise SystemExit(main())
