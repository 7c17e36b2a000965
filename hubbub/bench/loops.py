"""What the bench's entry points share: the generator's event loop, whether signals can
be used (only on the main thread), and positive numbers on the command line."""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Callable
from typing import Any


def loop_factory(choice: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop for the generator: uvloop when installed (auto), or the standard one."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise SystemExit("hubbub bench: --generator-loop uvloop, but uvloop is not installed") from None
        return None
    return uvloop.new_event_loop


def positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def threading_main() -> bool:
    return threading.current_thread() is threading.main_thread()
