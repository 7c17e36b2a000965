"""The parts of a running server that touch the operating system: listeners and
connection limits, the worker threads for slow work, configuration reloads. `app.py`
puts them together with the chat core."""
