-- What an operator types is stored at a bounded length, and one release of stuck bookings takes at most 1000.
--
-- A review of the ops calls found:
--   * who acted and why were scrubbed but never shortened on the way into the settings audit (kept a year),
--     and who acted and why never on the way into a booking's history or assigned_by: ops.resend_dead_messages
--     ('ana', <50 MB of text>) stored 50 MB, and could be repeated at will (it records even when nothing was
--     queued), as could ops.retry_bookings(…, <50 MB actor>), once per booking it took;
--   * ops.release_stuck took every unsettled booking in every restaurant past the cutoff in one call: a row
--     lock and an advisory lock each, held to the end, and a dispatch each. ops.retry_bookings stops at 1000
--     for the lock table's sake (its default size is 64 locks per connection times max_connections). It also
--     locked a booking whose worker still held its lease before skipping it, so that worker's commit waited for
--     the whole call.
-- Now who acted is cut to 200 characters (private.act_as, the settings audit's trigger, assigned_by's and a new
-- one on the history, which every booking change writes through), a settings audit reason to 500 (as act_as
-- already cut the reason it records) and a history reason to 2000; ops.release_stuck takes at most 1000
-- bookings per call, the longest stuck first, leaves those whose worker holds a lease unlocked, and answers how
-- many it left (call it again for those). A booking's manual_review_reason is not cut here: it is written on
-- the hot path, and the history's copy is the record.
--
-- Bodies as in 20261209030000 (act_as), 20261209010000 (the two triggers' functions) and 20261220010000
-- (release_stuck), with those changes.

create or replace function private.act_as(p_actor text, p_reason text default null)
returns text language plpgsql set search_path = '' as $$
declare
  actor text := private.scrub_and_cut(pg_catalog.btrim(p_actor), 200);
begin
  if coalesce(actor, '') = '' then
    raise exception using errcode = 'AS005', message = 'say who is acting: pass p_actor (a name or ticket, not a guest''s data)';
  end if;
  perform pg_catalog.set_config('pipeline.actor', pg_catalog.statement_timestamp()::text || '|' || actor, true);
  perform pg_catalog.set_config('pipeline.reason', coalesce(private.scrub_and_cut(p_reason, 500), ''), true);
  return actor;
end $$;

create or replace function private.scrub_settings_audit()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.actor := private.scrub_and_cut(new.actor, 200);
  new.reason := private.scrub_and_cut(new.reason, 500);
  return new;
end $$;

create or replace function private.scrub_assigned_by()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.assigned_by := private.scrub_and_cut(new.assigned_by, 200);
  return new;
end $$;

-- A booking's history: only an operator's text is ever this long, so the pipeline's own transitions pay for
-- the condition alone.
create function private.cut_history_text()
returns trigger language plpgsql set search_path = '' as $$
begin
  new.actor := private.scrub_and_cut(new.actor, 200);
  new.reason := private.scrub_and_cut(new.reason, 2000);
  return new;
end $$;
create trigger cut_what_operators_typed
  before insert on public.booking_assignment_state_history
  for each row when (pg_catalog.length(new.actor) > 200 or pg_catalog.length(new.reason) > 2000)
  execute function private.cut_history_text();

create or replace function ops.release_stuck(p_older_than_minutes integer, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  r public.bookings;
  reason text;
  cutoff timestamptz;
  released integer := 0;
  redispatched integer := 0;
  escalated integer := 0;
  busy integer := 0;
  left_stuck integer;
begin
  perform private.act_as(p_actor);
  if p_older_than_minutes is null or p_older_than_minutes < 1 then
    raise exception using errcode = 'AS005', message = 'p_older_than_minutes must be at least 1';
  end if;
  reason := pg_catalog.format('no progress for %s minutes; released by ops', p_older_than_minutes);
  cutoff := pg_catalog.now() - pg_catalog.make_interval(mins => p_older_than_minutes);
  for r in select * from public.bookings
            where assignment_state = any(private.unsettled_states()) and updated_at < cutoff
              -- Its worker still holds a lease (up to lease_seconds, 300 at most): it is slow, not stuck, and
              -- its commit would find the lease gone. Not even locked: when the lease runs out the sweeper takes
              -- it back anyway.
              and not (assignment_state = 'assignment_in_progress' and lease_expires_at > pg_catalog.now())
            order by updated_at
            limit 1000
            for update skip locked loop
    -- A call that holds the booking right now (begin, commit, another operator) is left alone.
    if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('booking', r.id)) then
      busy := busy + 1;
      continue;
    end if;
    if r.assignment_state = 'assignment_in_progress' then
      perform private.record_attempt(r, 'retry', 'released_by_ops: ' || reason, null, null, '{}'::jsonb);
      perform private.apply_assignment_transition(r.id, 'assignment_pending', r.assignment_state_version,
        'released_by_ops: ' || reason, pg_catalog.jsonb_build_object('attempt', r.attempt_count), p_actor);
      released := released + 1;
    elsif r.assignment_state = 'assigned' then
      perform private.apply_assignment_transition(r.id, 'manual_review', r.assignment_state_version,
        'stuck_before_confirmation: ' || reason || '; its tables were released, assign them again',
        '{}'::jsonb, p_actor);
      escalated := escalated + 1;
      continue;
    else
      redispatched := redispatched + 1;
    end if;
    update public.bookings set dispatch_count = 0 where id = r.id;
    perform private.nudge(r.id, 'ops_release');
  end loop;
  -- Past this call's 1000, held by another call now (those it skipped as busy are among them), or by a worker's
  -- lease (those come back on their own when it runs out).
  select count(*)::int into left_stuck from public.bookings
   where assignment_state = any(private.unsettled_states()) and updated_at < cutoff;
  perform private.record_event('assignment.ops', 'ops.release_stuck', 'warning',
    pg_catalog.jsonb_build_object('older_than_minutes', p_older_than_minutes, 'released_leases', released,
                                  'redispatched', redispatched, 'escalated', escalated, 'skipped_busy', busy,
                                  'left', left_stuck), null, null);
  return pg_catalog.jsonb_build_object('released_leases', released, 'redispatched', redispatched,
                                       'escalated', escalated, 'skipped_busy', busy, 'left', left_stuck);
end $$;
comment on function ops.release_stuck(integer, text) is
  'Unstick bookings with no progress for N minutes (at least 1; ops.stuck_bookings lists those of 10), at most 1000 a call, the longest stuck first: running ones whose lease has run out lose it and go back to the queue, waiting ones are dispatched again, ones stuck in "assigned" go to manual review with their tables released. One whose worker still holds its lease is left alone, as is one another call holds right now (counted in skipped_busy when it holds the booking''s lock, not its row). Not counted as errors by the circuit breaker. p_actor (who, not a guest) is required. Returns {released_leases, redispatched, escalated, skipped_busy, left}: left counts those still past the cutoff (beyond the 1000, or left alone); call it again for those beyond the 1000 or busy (one a worker leases comes back on its own when the lease runs out).';

revoke all on all routines in schema private from public, anon, authenticated;
