"""`python -m hubbub.bench ...` is the same as `hubbub bench ...`."""

from hubbub.bench.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
