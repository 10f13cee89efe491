-- Leases of one restaurant that run out together count as one failure toward its breaker, not one each.
--
-- A review of the queue's liveness found that every lease the sweeper expires records a breaker error. When a
-- functions instance is retired in the middle of a drain (a deploy, the host recycling it), every attempt it
-- had in flight runs out about the same time: with max_parallel at or above the breaker's threshold (both
-- settable up to 20 and down to 1), one retired instance, or a deploy retiring several, opened the breaker
-- of a busy restaurant — circuit_opened blaming the pipeline, and the whole queue held back for the cooldown
-- and a probe — though nothing was wrong with that restaurant. A lease that runs out within lease_seconds of
-- one already counted for the restaurant, while its breaker is closed, is now part of the same stop and is not
-- counted again; a worker that crashes on the restaurant's bookings time after time is still counted each
-- time (a retried booking's next lease runs out a whole lease later), and a half-open breaker's probe running
-- out still opens it again.
-- Body as in 20261201101200, with that rule.

alter table private.circuit_breakers add column lease_expiry_counted_at timestamptz;
comment on column private.circuit_breakers.lease_expiry_counted_at is
  'When a lease that ran out was last counted as a failure; others running out within lease_seconds of it are the same stop.';

create or replace function private.expire_lease(p_booking_id uuid, p_now timestamptz)
returns jsonb language plpgsql set search_path = '' as $$
declare
  b public.bookings;
begin
  select * into b from public.bookings where id = p_booking_id for update;
  if b.assignment_state <> 'assignment_in_progress' or b.lease_expires_at > p_now then
    return pg_catalog.jsonb_build_object('outcome', 'noop');
  end if;
  if not exists (select 1 from private.circuit_breakers c
                  where c.restaurant_id = b.restaurant_id and c.state = 'closed'
                    and c.lease_expiry_counted_at > p_now - pg_catalog.make_interval(
                          secs => (private.settings_for(b.restaurant_id)).lease_seconds)) then
    perform private.breaker_record(b.restaurant_id, b.id, true, p_now);
    update private.circuit_breakers set lease_expiry_counted_at = p_now where restaurant_id = b.restaurant_id;
  end if;
  return private.end_attempt(b, 'error', 'lease_expired: the worker holding the booking stopped answering', null,
                             '{}'::jsonb, p_now);
end $$;

revoke all on all routines in schema private from public, anon, authenticated;
