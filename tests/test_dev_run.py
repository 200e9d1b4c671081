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


def _supervised(tmp_path, script: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            "python3",
            "scripts/keep_running.py",
            "--name",
            "probe",
            *extra,
            "--",
            "python3",
            "-c",
            script,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _wait_for(predicate, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_process_that_dies_is_started_again_and_a_stop_is_a_normal_end(tmp_path):
    """make run's worker or beat dying (killed, crashed) comes back by itself; the others
    are not stopped with it. SIGTERM (honcho's stop) ends it with exit code 0."""
    runs = tmp_path / "runs"
    script = (
        "import os, sys, time; "
        f"open({str(runs)!r}, 'a').write(f'{{os.getpid()}}\\n'); "
        "n = len(open(" + repr(str(runs)) + ").read().split()); "
        "sys.exit(3) if n == 1 else time.sleep(60)"
    )
    process = _supervised(tmp_path, script)
    _wait_for(lambda: runs.exists() and len(runs.read_text().split()) >= 2)  # exit 3: again
    second = int(runs.read_text().split()[1])
    os.kill(second, signal.SIGKILL)  # killed from outside: again
    _wait_for(lambda: len(runs.read_text().split()) >= 3, timeout=30)
    assert process.poll() is None
    third = int(runs.read_text().split()[2])
    os.killpg(process.pid, signal.SIGTERM)  # honcho stopping everything
    _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "probe exited with 3" in errors, errors
    assert "probe exited with -9" in errors, errors
    assert len(runs.read_text().split()) == 3  # not started again after the stop
    try:
        os.kill(third, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError("the command outlived its supervisor")


def test_a_command_that_ignores_the_stop_is_killed_after_the_grace_time(tmp_path):
    marker = tmp_path / "started"
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"open({str(marker)!r}, 'w').write('x'); time.sleep(60)"
    )
    process = _supervised(tmp_path, script, "--grace", "1")
    _wait_for(marker.exists)
    started = time.monotonic()
    os.killpg(process.pid, signal.SIGTERM)
    process.communicate(timeout=30)
    assert time.monotonic() - started < 15
