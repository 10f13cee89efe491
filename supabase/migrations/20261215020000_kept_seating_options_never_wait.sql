-- Keeping a restaurant's seating options (20261215000000) never waits for another transaction, and keeps the
-- options under the key they were worked out for. A review of that migration found:
--   * its header said only the escalation before the restaurant lock writes the cache. A begin that sends its
--     booking to review for a reason a time may cure (outside_service_hours) records the escalation under
--     the restaurant lock, and writes too. Two writers of one key then wait for each other: a failing
--     attempt that inserted the key and waits for the restaurant lock, and a begin holding that lock whose
--     insert of the same key waits for the first to end. Postgres breaks that deadlock by aborting one of
--     them, and an aborted failure leaves its booking for the sweeper;
--   * the key (floor-plan count, combination limit) and the options were read in different statements, so a
--     combination limit changed in between was kept under the old limit with the new limit's options, and
--     read back once the limit was set back (a settings change logs no floor-plan change).
-- Now one writer per restaurant at a time, and the others, rather than wait, work the options out without
-- keeping them (pg_try_advisory_xact_lock); and the key and the options come from one statement, so from one
-- snapshot. What was kept before is dropped: it is only a cache.

truncate private.seating_options_cache;

create or replace function private.remember_seating_options(b public.bookings)
returns void language plpgsql set search_path = '' as $$
begin
  if not pg_catalog.pg_try_advisory_xact_lock(private.lock_key('seating_options', b.restaurant_id)) then
    return;
  end if;
  insert into private.seating_options_cache as c (restaurant_id, party_size, max_tables, floor_plan_changes, options)
  select b.restaurant_id, b.party_size, s.max_tables_per_booking, v.version, private.work_out_seating_options(b)
    from private.settings_for(b.restaurant_id) s,
         lateral (select private.floor_plan_version(b.restaurant_id) as version) v
   where not exists (select 1 from private.seating_options_cache k
                      where k.restaurant_id = b.restaurant_id and k.party_size = b.party_size
                        and k.max_tables = s.max_tables_per_booking and k.floor_plan_changes = v.version)
  on conflict (restaurant_id, party_size, max_tables) do update
     set floor_plan_changes = excluded.floor_plan_changes, options = excluded.options
   where c.floor_plan_changes < excluded.floor_plan_changes;
end $$;
comment on function private.remember_seating_options(public.bookings) is
  'Keep private.seating_options for the booking''s restaurant, party size and combination limit under the floor plan this statement sees, unless kept already. Never waits: while another transaction is keeping options of the restaurant, it keeps nothing.';

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
