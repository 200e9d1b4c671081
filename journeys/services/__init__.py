"""Writes for the patient journey, one module per area:

- ``events``: the append-only journey chronology
- ``scheduling``: booking, moving, cancelling visits; arrival and no-show; free slots
- ``plans``: treatment plans, options, stages, visit completion with a next step, handoffs
"""
