
-- The assignment state machine, held by Postgres. The legal transitions are rows of a table; one
-- function applies a transition (legality, expected version, history row and event in one
-- transaction); a trigger rejects every other way of changing the state.
--
-- Business errors carry their own SQLSTATE (AS001–AS011); what each means is listed once, in
-- shared/store/sqlstate.ts, and a test fails when a migration raises a code missing there.

create table private.assignment_state_transitions (
  from_state text not null,
  to_state text not null,
  purpose text not null,
  primary key (from_state, to_state),
  constraint transition_changes_the_state check (from_state <> to_state)
);
comment on table private.assignment_state_transitions is 'The only assignment-state changes Postgres accepts, with why each exists.';

insert into private.assignment_state_transitions (from_state, to_state, purpose) values
  ('created',                'capacity_verified',      'the restaurant can seat this party at this time'),
  ('capacity_verified',      'assignment_pending',     'queued for table assignment'),
  ('assignment_pending',     'assignment_in_progress', 'a worker holds the lease and is planning'),
  ('assignment_in_progress', 'assigned',               'tables were written for the booking'),
  ('assigned',               'confirmed',              'assignment confirmed to the guest'),
  ('assignment_in_progress', 'assignment_pending',     'attempt failed; retry later'),
  ('created',                'manual_review',          'escalated before capacity verification'),
  ('capacity_verified',      'manual_review',          'escalated after capacity verification'),
  ('assignment_pending',     'manual_review',          'escalated while waiting (attempts exhausted)'),
  ('assignment_in_progress', 'manual_review',          'escalated by the planner'),
  ('assigned',               'manual_review',          'escalated before confirmation'),
  ('manual_review',          'assignment_pending',     'ops asked for another automatic attempt'),
  ('manual_review',          'assigned',               'ops assigned tables by hand'),
  ('confirmed',              'assignment_pending',     'booking changed (time or party size); tables released for re-assignment'),
  ('created',                'cancelled',              'booking cancelled'),
  ('capacity_verified',      'cancelled',              'booking cancelled'),
  ('assignment_pending',     'cancelled',              'booking cancelled'),
  ('assignment_in_progress', 'cancelled',              'booking cancelled'),
  ('assigned',               'cancelled',              'booking cancelled'),
  ('manual_review',          'cancelled',              'booking cancelled'),
  ('confirmed',              'cancelled',              'booking cancelled');

-- States in which a booking holds tables; leaving them releases the tables.
create function private.state_holds_tables(p_state text)
returns boolean language sql immutable set search_path = '' as $$
  select p_state in ('assigned', 'confirmed');
$$;

-- A booking's due time (next_attempt_at) answers "when does the pipeline next look at it?". Entering a state
-- sets it here and nowhere else; without a state change it moves only for these reasons, each in one place:
--   nudged       private.nudge: dispatched over HTTP just now; due a moment later in case the nudge is lost
--   deferred     private.defer_attempt: the breaker is open or no concurrency slot is free
--   claimed      public.assignment_claim_due: a coordinator took it; due again if that worker dies
--   re-dispatched  private.sweep: the sweeper dispatched it again, with backoff

-- Apply one transition. Callers inside other RPCs use this; the Data API uses the public wrapper.
-- It writes the history row first: that row is the proof the guard trigger below asks for before it
-- lets the state change, so no other code path (and no session setting) can move a booking.
-- Entering a state also does that state's bookkeeping, so no path can leave a booking stuck:
--   capacity_verified, assignment_pending  due at p_next_attempt_at (p_now when not given); coming back from
--                                          manual_review or confirmed starts a fresh attempt budget
--   assignment_in_progress                 a lease of lease_seconds from p_now, due again when it ends
--   assigned, confirmed                    only with tables held (AS010 otherwise)
--   leaving assigned/confirmed             the tables are released
-- The reason and actor are free text: e-mail addresses and phone numbers in them are scrubbed here, the one
-- place every reason passes through.
create function private.apply_assignment_transition(
  p_booking_id uuid,
  p_to_state text,
  p_expected_version integer,
  p_reason text default null,
  p_metadata jsonb default '{}'::jsonb,
  p_actor text default 'system',
  p_next_attempt_at timestamptz default null,
  p_now timestamptz default pg_catalog.now()
) returns integer language plpgsql set search_path = '' as $$
declare
  b public.bookings;
  new_version integer;
  reason text := private.scrub_personal_data(nullif(pg_catalog.btrim(p_reason), ''));
  actor text := coalesce(private.scrub_personal_data(nullif(pg_catalog.btrim(p_actor), '')), 'system');
  metadata jsonb := coalesce(p_metadata, '{}'::jsonb);
  lease interval;
  requeued boolean;
begin
  if p_booking_id is null or p_to_state is null or p_expected_version is null then
    raise exception using errcode = 'AS005',
      message = 'booking id, target state and expected version are all required';
  end if;
  if p_to_state = 'manual_review' and reason is null then
    raise exception using errcode = 'AS005',
      message = 'a booking can only be sent to manual review with a reason an operator can act on';
  end if;
  if pg_catalog.jsonb_typeof(metadata) <> 'object' or private.jsonb_has_personal_data(metadata) then
    raise exception using errcode = 'AS005',
      message = 'transition metadata must be a JSON object without personal data (guest names, e-mail addresses, phone numbers)';
  end if;

  select * into b from public.bookings where id = p_booking_id for update;
  if not found then
    raise exception using errcode = 'AS003',
      message = pg_catalog.format('booking %s does not exist', p_booking_id);
  end if;
  if b.assignment_state_version <> p_expected_version then
    raise exception using errcode = 'AS002',
      message = pg_catalog.format('booking %s is at version %s, not %s: someone else changed it first',
                                  p_booking_id, b.assignment_state_version, p_expected_version),
      hint = 'Reload the booking and decide again.';
  end if;
  if not exists (select 1 from private.assignment_state_transitions t
                  where t.from_state = b.assignment_state and t.to_state = p_to_state) then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s cannot go from "%s" to "%s"', p_booking_id, b.assignment_state, p_to_state);
  end if;
  if private.state_holds_tables(p_to_state) and not exists (
       select 1 from public.booking_table_assignments a where a.booking_id = p_booking_id and a.released_at is null) then
    raise exception using errcode = 'AS010',
      message = pg_catalog.format('booking %s holds no tables, so it cannot be %s', p_booking_id, p_to_state),
      hint = 'Assign tables with ops.assign_tables(booking_id, array[''T1''], actor).';
  end if;

  new_version := b.assignment_state_version + 1;
  insert into public.booking_assignment_state_history (booking_id, from_state, to_state, version, reason, metadata, actor)
  values (p_booking_id, b.assignment_state, p_to_state, new_version, reason, metadata, actor);

  if p_to_state = 'assignment_in_progress' then
    lease := pg_catalog.make_interval(secs => coalesce((private.settings_for(b.restaurant_id)).lease_seconds, 30));
  end if;
  requeued := p_to_state = 'assignment_pending' and b.assignment_state in ('manual_review', 'confirmed');
  update public.bookings set
    assignment_state = p_to_state,
    assignment_state_version = new_version,
    manual_review_reason = case when p_to_state = 'manual_review' then reason end,
    status = case
      when p_to_state = 'confirmed' then 'confirmed'
      when p_to_state = 'cancelled' then 'cancelled'
      when b.assignment_state = 'confirmed' then 'pending'
      else status end,
    lease_token = case when lease is not null then pg_catalog.gen_random_uuid() end,
    lease_expires_at = p_now + lease,
    next_attempt_at = case
      when private.is_queued(p_to_state) then coalesce(p_next_attempt_at, p_now)
      else p_now + lease end,
    attempt_count = case when requeued then 0 else attempt_count end,
    -- The sweeper's dispatch counter (added with the coordinator's RPCs) starts over with the budget.
    dispatch_count = case when requeued then 0 else dispatch_count end
  where id = p_booking_id;

  if private.state_holds_tables(b.assignment_state) and not private.state_holds_tables(p_to_state) then
    perform private.release_booking_tables(p_booking_id, p_to_state);
  end if;

  perform private.record_event('assignment.state_machine', 'booking.assignment_state_transition', 'info',
    pg_catalog.jsonb_build_object('from', b.assignment_state, 'to', p_to_state, 'version', new_version,
                                  'metadata', metadata)
      || case when reason is null then '{}'::jsonb else pg_catalog.jsonb_build_object('reason', reason) end,
    b.restaurant_id, p_booking_id);
  return new_version;
end $$;

-- The Data API's way to move a booking. States whose bookkeeping only the pipeline can do are refused:
-- assignment_in_progress needs a lease and a concurrency slot (the coordinator's assignment_begin), and
-- assigned / confirmed need tables (ops.assign_tables).
create function public.transition_assignment_state(
  p_booking_id uuid,
  p_to_state text,
  p_expected_version integer,
  p_reason text default null,
  p_metadata jsonb default '{}'::jsonb,
  p_actor text default 'ops'
) returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  from_state text;
  new_version integer;
begin
  if p_to_state = 'assignment_in_progress' then
    raise exception using errcode = 'AS010',
      message = 'only the coordinator puts a booking in progress: it takes a lease and one of the restaurant''s concurrency slots',
      hint = 'Move the booking to assignment_pending and let the pipeline pick it up.';
  end if;
  if p_to_state in ('assigned', 'confirmed') then
    raise exception using errcode = 'AS010',
      message = pg_catalog.format('a booking becomes %s only together with its tables', p_to_state),
      hint = 'Use ops.assign_tables(booking_id, array[''T1''], actor), which writes the tables and confirms the booking.';
  end if;
  select assignment_state into from_state from public.bookings where id = p_booking_id;
  new_version := private.apply_assignment_transition(p_booking_id, p_to_state, p_expected_version,
                                                     p_reason, p_metadata, p_actor);
  return pg_catalog.jsonb_build_object('booking_id', p_booking_id, 'from', from_state, 'to', p_to_state,
                                       'version', new_version);
end $$;
comment on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text) is
  'Move a booking to another assignment state (capacity_verified, assignment_pending, manual_review or cancelled). Fails with AS001 (illegal transition), AS002 (stale expected version), AS003 (unknown booking), AS005 (bad argument) or AS010 (assignment_in_progress, assigned and confirmed are reached only through the coordinator or ops.assign_tables); on success returns {booking_id, from, to, version} and has written the history row and the booking.assignment_state_transition event. A booking sent back to assignment_pending is due at once. E-mail addresses and phone numbers in the reason are replaced by [email] and [number].';

-- Reject any change of the assignment state that does not come through private.apply_assignment_transition:
-- the change must move the version by exactly one and that transition's history row must already exist.
-- Only the transition writes history (no API role may insert it), so the row is proof it ran; a session
-- setting or a hand-written UPDATE is not. Also keeps the guest-facing status in step with the state.
create function private.guard_assignment_state()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  if (new.assignment_state is distinct from old.assignment_state
      or new.assignment_state_version is distinct from old.assignment_state_version)
     and (new.assignment_state_version is distinct from old.assignment_state_version + 1
          or not exists (select 1 from public.booking_assignment_state_history h
                          where h.booking_id = old.id and h.version = new.assignment_state_version
                            and h.from_state = old.assignment_state and h.to_state = new.assignment_state)) then
    raise exception using errcode = 'AS004',
      message = pg_catalog.format('the assignment state of booking %s can only change through transition_assignment_state()', old.id),
      hint = 'Call public.transition_assignment_state(booking_id, to_state, expected_version, reason).';
  end if;
  -- The status moves by itself only along a confirmed booking's life (confirmed → checked_in → completed,
  -- or no_show); every other status change comes with the assignment-state transition that explains it.
  if new.status is distinct from old.status and new.assignment_state is not distinct from old.assignment_state then
    if new.status = 'cancelled' then
      raise exception using errcode = 'AS011',
        message = pg_catalog.format('booking %s is cancelled through cancel_booking(), which also releases its tables', old.id);
    end if;
    if not (old.assignment_state = 'confirmed' and new.status in ('confirmed', 'checked_in', 'completed', 'no_show')) then
      raise exception using errcode = 'AS011',
        message = pg_catalog.format('booking %s cannot be %s while its table assignment is %s', old.id, new.status,
                                    old.assignment_state),
        hint = case when old.assignment_state = 'confirmed'
                    then 'A confirmed booking goes back to pending by being re-assigned (transition to assignment_pending).'
                    else 'A booking is confirmed, checked in, completed or a no-show only once its tables are confirmed.' end;
    end if;
  end if;
  return new;
end $$;
create trigger guard_assignment_state before update on public.bookings
  for each row execute function private.guard_assignment_state();

create function public.cancel_booking(p_booking_id uuid, p_reason text default 'cancelled', p_actor text default 'ops')
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  current_version integer;
begin
  select assignment_state_version into current_version from public.bookings where id = p_booking_id for update;
  if not found then
    raise exception using errcode = 'AS003', message = pg_catalog.format('booking %s does not exist', p_booking_id);
  end if;
  return public.transition_assignment_state(p_booking_id, 'cancelled', current_version, p_reason, '{}'::jsonb, p_actor);
end $$;
comment on function public.cancel_booking(uuid, text, text) is
  'Cancel a booking from any state but cancelled, releasing its tables in the same transaction. AS001 if already cancelled, AS003 if unknown.';

alter table private.assignment_state_transitions enable row level security;
revoke all on table private.assignment_state_transitions from public, anon, authenticated;
revoke all on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text),
  public.cancel_booking(uuid, text, text) from public, anon, authenticated, service_role;
grant execute on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text),
  public.cancel_booking(uuid, text, text) to service_role;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
