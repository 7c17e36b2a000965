"""`python -m hubbub` is the same as the `hubbub` command."""

from hubbub.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
