-- Plan the hot helpers' statements once per connection instead of once per call.
--
-- PL/pgSQL caches a statement's plan, but uses it only when the generic plan looks no dearer than the plans it
-- made for the first calls' actual values. For statements over arrays passed in (unnest, = any) the generic
-- estimate is always a little dearer, so these statements were planned afresh on every call: with
-- pg_stat_statements.track_planning, three statements of the state walk, the busy-table and plan checks and
-- the mode decision were planned as often as they ran, on every booking. Their statements read by primary
-- key or by literal conditions (no partial index depends on a parameter), so the generic plan is the plan.
alter function private.walk_assignment_states(uuid, text[], integer, text, jsonb[], text, timestamptz, timestamptz, boolean, text)
  set plan_cache_mode = force_generic_plan;
alter function private.busy_tables(public.bookings, uuid[]) set plan_cache_mode = force_generic_plan;
alter function private.plan_violation(public.bookings, uuid[], integer) set plan_cache_mode = force_generic_plan;
alter function private.decide_mode(uuid, text) set plan_cache_mode = force_generic_plan;
