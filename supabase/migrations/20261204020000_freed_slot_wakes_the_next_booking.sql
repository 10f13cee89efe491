-- A booking that finds its restaurant's concurrency slots full waits to be woken instead of polling. Until now
-- it was due again 200 ms later and every coordinator that claimed it found the slots still full: in a
-- reservation drop (300 bookings for one restaurant within a second) that was four to six dispatches per
-- booking, each a full assignment_begin under the restaurant's lock. Now:
--   * a freed slot (a booking leaving assignment_in_progress, however it leaves) makes the restaurant's
--     longest-waiting deferred booking due at once, so the claim loops of running coordinators take it next;
--   * rate_limited_delay_ms is only the fallback, when no slot frees in time: 30 s by default (a lease).

create index bookings_deferred_idx on public.bookings (restaurant_id, deferred_since) where deferred_since is not null;

create function private.wake_next_deferred()
returns trigger language plpgsql security definer set search_path = '' as $$
begin
  update public.bookings set next_attempt_at = pg_catalog.now()
   where id = (select w.id from public.bookings w
                where w.restaurant_id = new.restaurant_id and w.deferred_since is not null
                  and w.assignment_state = 'assignment_pending' and w.next_attempt_at > pg_catalog.now()
                order by w.deferred_since, w.id
                limit 1
                for update skip locked);
  return null;
end $$;
create trigger wake_next_deferred after update of assignment_state on public.bookings
  for each row when (old.assignment_state = 'assignment_in_progress' and new.assignment_state <> 'assignment_in_progress')
  execute function private.wake_next_deferred();

alter table private.pipeline_settings alter column rate_limited_delay_ms set default 30000;
update private.pipeline_settings set rate_limited_delay_ms = 30000 where rate_limited_delay_ms = 200;
comment on column private.pipeline_settings.rate_limited_delay_ms is
  'How long a booking that found every concurrency slot taken waits at most; a slot that frees wakes the longest-waiting booking at once.';

revoke all on all routines in schema private from public, anon, authenticated;
