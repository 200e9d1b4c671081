"""The messaging services, by responsibility: ``outbox`` (planning), ``dispatch``
(sending), ``guards`` (what a message passes at sending time), ``compose`` (links and
text), ``reach`` (channels), ``inbound`` (delivery reports, opt-outs, patients' text)."""
