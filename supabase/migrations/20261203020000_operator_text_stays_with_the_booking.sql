-- An operator's (or a platform's) own words never reach the observability events.
--
-- Free text passed to the RPCs — the reason of ops.cancel_booking, public.cancel_booking and
-- public.transition_assignment_state, the note of ops.assign_tables and ops.accept_alternative — can name a
-- guest, an address or an allergy ("Maria Garcia called, nut allergy, lives at 12 Rose Lane"). E-mail
-- addresses and phone numbers are scrubbed, but names and addresses cannot be detected reliably, so the
-- guarantee is structural instead:
--   * a transition's reason is kept in full only with the booking: its history row
--     (public.booking_assignment_state_history.reason) and, in review, bookings.manual_review_reason — both
--     deleted with the booking;
--   * the booking.assignment_state_transition event carries the reason's code only: the word before the
--     first ':' when it is one of the pipeline's reason codes (private.reason_codes), or else `free_text`
--     with the text's length in `reason_chars`. Nothing of the words themselves.
-- The pipeline's own reasons (`no_table_fits: …`, `attempts_exhausted: …`) keep their code in the event as
-- before; their sentences are in the history and in the coordinator.* events built from the pipeline's data.

create table private.reason_codes (
  code text primary key
    constraint reason_code_is_a_snake_case_word check (code ~ '^[a-z][a-z_]{1,39}$'),
  meaning text not null
);
comment on table private.reason_codes is
  'The reason codes a transition''s event may carry (the word before the first colon of a reason). A reason that does not start with one of them is an operator''s or a platform''s own text: its event says free_text. A new reason code of the pipeline is added here.';
insert into private.reason_codes (code, meaning) values
  ('no_table_fits',                 'no free table or combination seats the party at that time'),
  ('exact_search_budget_exhausted', 'the exact search ran out of time or memory before deciding'),
  ('party_too_large',               'the party exceeds the restaurant''s largest arrangement'),
  ('outside_service_hours',         'the stay is not inside a service period'),
  ('no_tables_configured',          'the restaurant has no active, in-service tables'),
  ('attempts_exhausted',            'errors or repeated conflicts used up the attempts'),
  ('coordinator_unreachable',       'dispatched without the coordinator picking it up'),
  ('automatic_assignment_off',      'the restaurant''s mode is off'),
  ('circuit_open',                  'deferred too long by the restaurant''s open breaker'),
  ('rate_limited',                  'waited too long for a concurrency slot'),
  ('stuck_before_confirmation',     'left in assigned; released by ops'),
  ('sweeper_error',                 'the sweeper failed on this booking'),
  ('booking_changed',               'time, party size or buffers changed after confirmation'),
  ('lease_expired',                 'the worker holding the booking stopped answering'),
  ('released_by_ops',               'ops released a booking stuck in progress'),
  ('ops_retry',                     'ops sent the booking back to automatic assignment'),
  ('ops_assignment',                'ops assigned tables by hand'),
  ('ops_reassignment',              'ops moved a confirmed booking to other tables'),
  ('no_fit',                        'an attempt found no tables'),
  ('conflict',                      'an attempt kept losing races for its tables'),
  ('rule_changed',                  'the booking or its tables changed while it was planned'),
  ('error',                         'an infrastructure failure ended the attempt'),
  ('engine_error',                  'the engine failed or broke a rule on its own snapshot'),
  ('invalid_snapshot',              'the booking''s snapshot does not parse'),
  ('invalid_data',                  'the booking''s data cannot be planned'),
  ('cancelled',                     'the booking was cancelled');
alter table private.reason_codes enable row level security;
revoke all on private.reason_codes from public, anon, authenticated, service_role;

-- What of a reason an event may carry: {reason: <code>} for a reason that starts with one of the pipeline's
-- codes, {reason: free_text, reason_chars: n} for anything else, {} for none.
create function private.reason_for_event(p_reason text)
returns jsonb language sql stable set search_path = '' as $$
  select case
    when p_reason is null then '{}'::jsonb
    when exists (select 1 from private.reason_codes c
                  where c.code = pg_catalog.btrim(pg_catalog.split_part(p_reason, ':', 1)))
      then pg_catalog.jsonb_build_object('reason', pg_catalog.btrim(pg_catalog.split_part(p_reason, ':', 1)))
    else pg_catalog.jsonb_build_object('reason', 'free_text', 'reason_chars', pg_catalog.length(p_reason)) end;
$$;

create or replace function private.apply_assignment_transition(
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
      -- The reason's code only: the words stay with the booking, in the history row written above.
      || private.reason_for_event(reason),
    b.restaurant_id, p_booking_id);
  return new_version;
end $$;

comment on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text) is
  'Move a booking to another assignment state (capacity_verified, assignment_pending, manual_review or cancelled). Fails with AS001 (illegal transition), AS002 (stale expected version), AS003 (unknown booking), AS005 (bad argument) or AS010 (assignment_in_progress, assigned and confirmed are reached only through the coordinator or ops.assign_tables); on success returns {booking_id, from, to, version} and has written the history row and the booking.assignment_state_transition event. A booking sent back to assignment_pending is due at once. The reason is kept with the booking only (its history, and manual_review_reason), with e-mail addresses and phone numbers replaced by [email] and [number]; the event carries its code, or free_text and its length.';
comment on function public.cancel_booking(uuid, text, text) is
  'Cancel a booking from any state but cancelled, releasing its tables in the same transaction. AS001 if already cancelled, AS003 if unknown. The reason is kept in the booking''s history only (deleted with the booking); the event says cancelled when the reason starts with that code, or else free_text and its length.';
comment on function ops.cancel_booking(uuid, text, text) is
  'Cancel a booking and release its tables in the same transaction. Cancelling twice is harmless. The reason (an operator''s note, which may name the guest) is kept in the booking''s history only, deleted with the booking; no event or log carries it.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
