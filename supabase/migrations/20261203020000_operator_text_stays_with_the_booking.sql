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
--     with the text's length in `reason_chars`. Nothing of the words themselves. A trigger on the events
--     table holds it, so it does not depend on which function writes the transition.
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
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  head text := pg_catalog.btrim(pg_catalog.split_part(p_reason, ':', 1));
begin
  if p_reason is null then
    return '{}'::jsonb;
  end if;
  if exists (select 1 from private.reason_codes c where c.code = head) then
    return pg_catalog.jsonb_build_object('reason', head);
  end if;
  return pg_catalog.jsonb_build_object('reason', 'free_text', 'reason_chars', pg_catalog.length(p_reason));
end $$;

-- Held where every transition event is written, whichever function writes it: before the event row is
-- stored (and before its personal-data CHECK), its reason becomes the code.
create function private.transition_event_carries_the_code()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  new.context := (new.context - 'reason' - 'reason_chars') || private.reason_for_event(new.context ->> 'reason');
  return new;
end $$;
create trigger transition_event_carries_the_code
  before insert on public.observability_events
  for each row when (new.event_type = 'booking.assignment_state_transition' and new.context ? 'reason')
  execute function private.transition_event_carries_the_code();

comment on function public.transition_assignment_state(uuid, text, integer, text, jsonb, text) is
  'Move a booking to another assignment state (capacity_verified, assignment_pending, manual_review or cancelled). Fails with AS001 (illegal transition), AS002 (stale expected version), AS003 (unknown booking), AS005 (bad argument) or AS010 (assignment_in_progress, assigned and confirmed are reached only through the coordinator or ops.assign_tables); on success returns {booking_id, from, to, version} and has written the history row and the booking.assignment_state_transition event. A booking sent back to assignment_pending is due at once. The reason is kept with the booking only (its history, and manual_review_reason), with e-mail addresses and phone numbers replaced by [email] and [number]; the event carries its code, or free_text and its length.';
comment on function public.cancel_booking(uuid, text, text) is
  'Cancel a booking from any state but cancelled, releasing its tables in the same transaction. AS001 if already cancelled, AS003 if unknown. The reason is kept in the booking''s history only (deleted with the booking); the event says cancelled when the reason starts with that code, or else free_text and its length.';
comment on function ops.cancel_booking(uuid, text, text) is
  'Cancel a booking and release its tables in the same transaction. Cancelling twice is harmless. The reason (an operator''s note, which may name the guest) is kept in the booking''s history only, deleted with the booking; no event or log carries it.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
