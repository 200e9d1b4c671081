"""Runs one command and starts it again whenever it exits, until asked to stop.

``make run`` starts web, worker and beat under honcho, which stops all of them as soon as
one exits: a worker that dies (a crash, an out-of-memory kill) would take the web server
with it. Each Procfile line runs its command under this script instead:

    python scripts/keep_running.py --name worker -- celery -A clinic_crm worker ...

- The command exits by itself (any exit code): it is started again after a pause that
  doubles from 1 s up to 30 s while it keeps failing quickly, and is back to 1 s once a
  run has lasted a minute.
- SIGTERM or SIGINT (honcho's Ctrl-C): passed on to the command's own process only; its
  children (Celery's pool) are stopped by the command itself, so a warm shutdown stays
  warm; what is left of its process group once it has exited gets SIGTERM too (the
  server that runserver's reloader started), and after ``--grace`` seconds the whole
  group is killed. The script then exits with the command's exit code (0 for a stop it
  was asked for).

Deployments supervise the processes with systemd or compose instead (README).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
HEALTHY_RUN = 60.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="process", help="how the log lines name it")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to stop cleanly")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command after --")

    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    pause = FIRST_PAUSE
    while True:
        started = time.monotonic()
        # Its own session: a signal to our process group reaches us, not the command's
        # children, which the command stops itself.
        child = subprocess.Popen(command, start_new_session=True)
        code = _wait(child, lambda: stopping, args.grace)
        _end_group(child.pid)  # what the command left behind (runserver's reloaded child)
        if stopping:
            return 0 if code in (0, -signal.SIGTERM, 128 + signal.SIGTERM) else code
        ran = time.monotonic() - started
        pause = FIRST_PAUSE if ran >= HEALTHY_RUN else min(pause * 2, LONGEST_PAUSE)
        print(
            f"keep_running: {args.name} exited with {code} after {ran:.0f} s; "
            f"starting it again in {pause:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        deadline = time.monotonic() + pause
        while time.monotonic() < deadline and not stopping:
            time.sleep(0.1)
        if stopping:
            return 0


def _end_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(child: subprocess.Popen, stopping, grace: float) -> int:
    """The command's exit code; once a stop is asked for, passes SIGTERM on, waits
    ``grace`` seconds and then kills the command's process group."""
    asked_at = None
    while True:
        try:
            return child.wait(timeout=0.1)
        except subprocess.TimeoutExpired:
            pass
        if stopping():
            if asked_at is None:
                asked_at = time.monotonic()
                child.send_signal(signal.SIGTERM)
            elif time.monotonic() - asked_at > grace:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


if __name__ == "__main__":
    sys.exit(main())
