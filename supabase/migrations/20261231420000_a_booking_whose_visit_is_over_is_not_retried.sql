-- An operator's retry of one review whose stay is over is refused, as ops.assign_tables refuses it and
-- ops.retry_bookings passes over it: sent back, the pipeline would seat it at a time gone by (nothing checks a
-- planned stay against the clock), confirm it, and queue a confirmation that the message claim then drops as
-- too late (notification.expired). A stay under way is still retried: the guest may be at the door.
-- Body as in 20261231160000 but for the refusal after the state check.
create or replace function ops.retry_booking(p_booking_id uuid, p_actor text)
returns jsonb language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  version integer;
  waits boolean;
begin
  perform private.act_as(p_actor);
  b := private.booking_for_ops(p_booking_id);
  if b.assignment_state <> 'manual_review' then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('only bookings in manual review can be retried; this one is %s', b.assignment_state);
  end if;
  if b.end_at <= pg_catalog.now() then
    raise exception using errcode = 'AS001',
      message = pg_catalog.format('booking %s''s stay ended at %s UTC: a visit that is over is not planned again (it would be seated at a time gone by); leave it in review, or cancel it',
                                  b.id, pg_catalog.to_char(b.end_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI'));
  end if;
  version := private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
    'ops_retry: sent back to automatic assignment', '{}'::jsonb, p_actor);
  -- Sent back as a new booking goes: at once while the restaurant has a free slot, into its queue otherwise.
  waits := private.queue_or_nudge(b.id, b.restaurant_id, 'ops_retry');
  perform private.record_event('assignment.ops', 'ops.retry', 'info',
    pg_catalog.jsonb_build_object('review_reason', private.reason_for_event(b.manual_review_reason) ->> 'reason'),
    b.restaurant_id, b.id);
  return pg_catalog.jsonb_build_object('outcome', 'queued', 'version', version, 'waits_for_slot', waits);
end $$;
alter function ops.retry_booking(uuid, text) set lock_timeout = '5s';
comment on function ops.retry_booking(uuid, text) is
  'Send a booking in manual review back to automatic assignment with a fresh attempt budget, as a new booking goes: dispatched while its restaurant has a free slot, into its queue otherwise (waits_for_slot in the answer). A booking whose stay is over is refused (AS001); one whose stay is under way is sent.';
