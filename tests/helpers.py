import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_django(
    code: str, env: dict[str, str] | None = None, args: list[str] | None = None, timeout: int = 60
) -> subprocess.CompletedProcess:
    """Runs Python code (or manage.py with ``args``) in a fresh process with its own
    environment, so settings are read anew."""
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    full_env = {**inherited, **(env or {})}
    command = [sys.executable, "manage.py", *args] if args else [sys.executable, "-c", code]
    return subprocess.run(
        command,
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
