#!/usr/bin/env bash
# `make run`'s last step: web, worker and beat in the foreground under honcho. Ctrl-C
# stops all three; an interrupted run is a normal end (exit 0), so make reports no error.
interrupted=0
trap 'interrupted=1' INT TERM
.venv/bin/honcho --procfile "${PROCFILE:-Procfile.dev}" start
status=$?
if [ "$interrupted" = 1 ]; then
    exit 0
fi
exit "$status"
