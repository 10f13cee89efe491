-- Health reads no table whole.
--
-- private.health_of_parts (ops.health, which monitoring polls) counts the dead guest messages that a resend
-- would send (dead_resendable) by joining each to its booking. Planned where the statistics took bookings for
-- a page or two (a young database, or one just vacuumed after many rows went), the join read bookings whole
-- for a hash of it: with a year's history of messages that died for want of an address, each call read every
-- booking (pgTAP 85 failed so, 2,973 bookings more with the history, when it ran after 182, which vacuums
-- bookings). The function now plans without sequential reads, as the queue's functions do (20261231280000):
-- each of its counts reads through the index its filter names; a table with no such index (the settings
-- rows) is still read, as the planner has no other way.

alter function private.health_of_parts(timestamptz) set enable_seqscan = off;
