"""`hubbub bench`: a load generator that measures hubbub, or any IRC server, on one machine.

Scenarios (scenarios.py): fanout (with a search for the highest sustained rate),
connect, and pingpong. The load connections (load.py) are raw asyncio Protocols that
count lines rather than parse them, so the generator stays cheaper than the server it
measures; the server's CPU time and memory come from /proc (procstat.py). Results are
a table or JSON (report.py); `bench/run-figures.sh` turns them into docs/benchmarks.md.
"""
