-- A coordinator's claim loop ends after two minutes at most (DRAIN_MAX_MS, under a hosted worker's wall clock).
-- While a backlog lasts, every new booking joins a queue at insert and is not dispatched, so no request arrives
-- to start another loop: the backlog waited for the sweeper's next run, up to 5 s with nothing assigned (a
-- 5-second window at 7 % of capacity in the overload benchmark). A loop that stops with work left now asks
-- for a sweep at once; the sweep dispatches the due bookings through pg_net, and those requests start fresh
-- loops. Concurrent sweeps skip each other's rows (for update skip locked), as the scheduled one always has.
create function public.assignment_sweep_now()
returns jsonb language plpgsql security definer set search_path = '' as $$
begin
  return private.sweep(pg_catalog.clock_timestamp());
end $$;
comment on function public.assignment_sweep_now() is
  'Run the sweeper now (expired leases, due bookings dispatched, the notification dispatcher kicked), as the scheduled job does every 5 s. A claim loop that stops with work left calls it to hand the backlog over to fresh requests. Returns the sweep''s counts.';

revoke all on function public.assignment_sweep_now() from public, anon, authenticated, service_role;
grant execute on function public.assignment_sweep_now() to service_role;
