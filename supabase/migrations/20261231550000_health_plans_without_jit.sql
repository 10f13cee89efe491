-- Health plans without JIT, too.
--
-- 20261231540000 planned private.health_of_parts without sequential reads but left JIT on. A read that has no
-- index to take (the rollout settings' one row) is then costed far past JIT's thresholds, and the statement
-- with every count of ops.health was compiled again at each call, as the queue's functions were before
-- 20261231280000 (56 ms a statement there). It now sets both, as they do (a read-only review of 20261231540000);
-- pgTAP 85 checks that it carries them.

alter function private.health_of_parts(timestamptz) set jit = off;
