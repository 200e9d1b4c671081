"""Helpers shared by test modules that build no rows: a fresh Django process, the URL
patterns walked, calls run at once in threads."""

import os
import subprocess
import sys
import threading
from pathlib import Path

from django.db import connection
from django.urls import URLPattern, URLResolver

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


def walk_urls(patterns, prefix="", namespace=""):
    """Every URL pattern under ``patterns`` as (route, "namespace:name")."""
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk_urls(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name or ''}"


def run_together(*calls):
    """Runs the calls in parallel threads released by one barrier; returns each call's
    result or the exception it raised."""
    barrier = threading.Barrier(len(calls), timeout=15)
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results
