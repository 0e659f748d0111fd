"""The race-day rehearsal: a complete simulated race day across real processes, with faults, ending in a
verdict (`worun-station rehearse`).

Modules:
- `scenario`  — the generated event, participants, signed tickets and reader captures with ground truth;
- `expected`  — the expected results computed independently from the ground truth (never the engine);
- `serialsim` — simulated serial readers (Ultra, RACE RESULT) behind socat pty pairs, paced at baud rate;
- `mylapssim` — a simulated MYLAPS decoder, the TCP client that resends what is not acknowledged;
- `proxy`     — the fault-injecting TCP proxy between the stations and the ledger;
- `procs`     — real `worun-station` processes, their logs and peak memory; the throwaway PostgreSQL;
- `verdict`   — the comparison table and its JSON;
- `run`       — the orchestration of the whole day.
"""
