-- A restaurant whose automatic assignment is off writes its escalations as rollout.* events (source
-- assignment.rollout), not as V3's.
--
-- A review of the rollout gates found that a booking at a restaurant set to 'off' went to manual review with a
-- coordinator.manual_review event under source assignment.coordinator, since only legacy and shadow took the
-- first implementation's names. The plan's shadow-phase check ("no assignment.coordinator events") then
-- failed for a restaurant an operator had switched off while V3 never ran, a full phase's "coordinator events
-- present" could pass on such a restaurant alone, and the plan's V3 manual-review rate (from
-- coordinator.manual_review events) counted bookings V3 never saw. Neither path runs for such a booking, so its
-- events are named for the rollout decision that stopped it: rollout.manual_review, and rollout.* for anything
-- else recorded in that mode (a breaker reset at such a restaurant: rollout.circuit_reset). Events already
-- written keep their names. Body as in 20261204010000 otherwise.

create or replace function private.pipeline_event_name(p_mode text, p_event_type text)
 returns table(source text, event_type text)
 language plpgsql
 immutable
 set search_path = ''
as $$
#variable_conflict use_column
begin
  return query
  select case when private.legacy_path(p_mode) then 'auto_assign'
              when p_mode = 'off' then 'assignment.rollout'
              else 'assignment.coordinator' end,
         case when private.legacy_path(p_mode) then private.legacy_event_name(p_event_type)
              when p_mode = 'off' then pg_catalog.regexp_replace(p_event_type, '^coordinator\.', 'rollout.')
              else p_event_type end;
end $$;

comment on function ops.reset_circuit_breaker(uuid, text, text) is
  'Close a restaurant''s circuit breaker by hand (open or half-open → closed, failures reset to 0) once the cause of its errors is fixed. p_actor (who) and p_reason (what was fixed) are required and recorded in ops.rollout_log; the change is also a coordinator.circuit_reset event (auto_assign.circuit_reset where the restaurant runs legacy or shadow, rollout.circuit_reset where its automatic assignment is off). The bookings it held in the queue are woken at once (as many as the restaurant''s slots) when nothing is in flight ahead of them. Returns {outcome: closed | unchanged}.';

revoke all on all routines in schema private from public, anon, authenticated;
