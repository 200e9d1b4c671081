"""Signals by which a lower layer tells the layers above it about a change, without
importing them (ARCHITECTURE.md, "Layers"). Each is sent inside the transaction of the
change; a receiver that does work elsewhere defers it with ``transaction.on_commit``.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Something the loyalty metrics count has changed: a visit was booked, moved or changed
#: status, a survey was answered, a negative-feedback task was closed. Payload: ``sender``
#: (the model class changed) and ``patient_id``. The database triggers have already queued
#: the doctor-days to recount; the receiver (metrics) recounts them after the commit.
counted_change = Signal()
