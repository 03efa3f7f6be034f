"""``python -m bayestune``: the same as the ``bayestune`` command."""

from bayestune.cli import main

raise SystemExit(main())
