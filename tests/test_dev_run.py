"""`make run`'s foreground processes: a quiet worker by default, and Ctrl-C as a normal end."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_worker_and_beat_log_warnings_by_default_and_the_level_is_configurable():
    procfile = (ROOT / "Procfile.dev").read_text()
    for name in ("worker", "beat"):
        line = next(line for line in procfile.splitlines() if line.startswith(f"{name}:"))
        assert "--loglevel=${WORKER_LOG_LEVEL:-WARNING}" in line, line


def test_console_messages_still_show_in_a_quiet_worker_s_log():
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.WARNING)  # what `celery worker --loglevel=WARNING` sets
    try:
        assert logging.getLogger("clinic_crm.messaging.console").isEnabledFor(logging.INFO)
        assert not logging.getLogger("clinic_crm.messaging").isEnabledFor(logging.INFO)
    finally:
        root.setLevel(level)


def test_ctrl_c_stops_every_process_and_ends_without_an_error(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text("one: sleep 60\ntwo: sleep 60\n")
    process = subprocess.Popen(
        ["bash", "scripts/dev.sh"],
        cwd=ROOT,
        env={**os.environ, "PROCFILE": str(procfile)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    deadline = time.monotonic() + 20
    output = ""
    while "two.1" not in output and time.monotonic() < deadline:
        output += process.stdout.readline()
    assert "two.1" in output, output
    # honcho's helper processes ignore Ctrl-C (their children stop on honcho's SIGTERM)
    # from just after they start; a person never presses it that early.
    time.sleep(1)
    os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the whole group
    rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output + rest
    assert "one.1 stopped" in rest, rest
    assert "two.1 stopped" in rest, rest
