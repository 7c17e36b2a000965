"""`python -m hubbub` is the same as the `hubbub` command."""

from hubbub.cli import main

raise SystemExit(main())
