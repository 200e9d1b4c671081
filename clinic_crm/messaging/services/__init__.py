"""The messaging services, by responsibility: ``outbox`` (planning), ``claims`` (claiming
and takeover), ``dispatch`` (sending), ``guards`` (what a message passes at sending time),
``compose`` (links and text), ``reach`` (channels), ``inbound`` (delivery reports,
opt-outs, patients' text)."""
