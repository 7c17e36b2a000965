"""`python -m hubbub.client.tui [HOST[:PORT]] ...`: the same as `hubbub chat`."""

from hubbub.client.cli import main

raise SystemExit(main())
