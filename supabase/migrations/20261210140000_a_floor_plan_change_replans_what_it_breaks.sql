-- A floor-plan change re-plans the confirmed bookings ahead whose tables it breaks. A table taken out of
-- service or deactivated, a party range or capacity lowered, a table made fixed or moved to another zone, an
-- adjacency removed, a service period moved or deleted, the restaurant's time zone changed: every confirmed
-- booking holding the table stayed confirmed on it, with nothing re-checked, no event and nothing in health
-- (an attacker's review found it; the rule digest of 20261203000000 covers only leases in flight). The guest
-- then arrived to a table the restaurant had said it would not use.
-- Now such a change sends each confirmed booking whose stay is ahead and whose tables no longer seat it under
-- the rules back to be planned, as a changed booking is (20261210120000's private.holds_its_stay decides): the
-- engine seats it elsewhere, or it goes to manual review with the reason. The guest hears only of what
-- changes for them once it is settled. A party that has arrived is left at its tables (an operator moves it),
-- and a booking in progress re-plans through the rule digest as before. Adding tables, adjacency or service
-- periods breaks nothing and is not looked at.

-- The restaurant's confirmed, not yet arrived bookings with their stay ahead (those holding one of p_table_ids,
-- or all of them when null) whose tables break a rule now: each is sent back to be planned. Returns how many.
create function private.replan_broken_holds(p_restaurant_id uuid, p_table_ids uuid[], p_what text)
returns integer language plpgsql security definer set search_path = '' as $$
declare
  b public.bookings;
  replanned integer := 0;
begin
  -- A restaurant being deleted takes its bookings with it: nothing to plan.
  if not exists (select 1 from public.restaurants r where r.id = p_restaurant_id) then
    return 0;
  end if;
  for b in
    select x.* from public.bookings x
     where x.restaurant_id = p_restaurant_id and x.assignment_state = 'confirmed' and x.status = 'confirmed'
       and x.start_at > pg_catalog.now() - interval '12 hours'
       and pg_catalog.upper(private.blocked_window(x)) > pg_catalog.now()
       and (p_table_ids is null
            or exists (select 1 from public.booking_table_assignments a
                        where a.booking_id = x.id and a.released_at is null and a.table_id = any(p_table_ids)))
     order by x.start_at, x.id
  loop
    if not private.holds_its_stay(b) then
      perform private.apply_assignment_transition(b.id, 'assignment_pending', b.assignment_state_version,
        'rule_changed: ' || p_what || ', and its tables no longer seat it under the rules', '{}'::jsonb, 'system');
      perform private.nudge(b.id, 'modification');
      replanned := replanned + 1;
    end if;
  end loop;
  return replanned;
end $$;

create function private.replan_after_floor_plan_change()
returns trigger language plpgsql security definer set search_path = '' as $$
declare
  r record;
begin
  if tg_table_name = 'restaurants' then
    perform private.replan_broken_holds(new.id, null, 'the restaurant''s time zone changed');
    return null;
  end if;
  if tg_table_name = 'restaurant_tables' then
    for r in
      select n.restaurant_id, pg_catalog.array_agg(n.id) as ids
        from new_rows n join old_rows o on o.id = n.id
       where (o.active, o.out_of_service, o.capacity, o.min_party_size, o.max_party_size, o.zone_id, o.movable)
             is distinct from (n.active, n.out_of_service, n.capacity, n.min_party_size, n.max_party_size, n.zone_id, n.movable)
       group by n.restaurant_id
    loop
      perform private.replan_broken_holds(r.restaurant_id, r.ids, 'a table changed');
    end loop;
  elsif tg_table_name = 'table_adjacency' then
    for r in
      select o.restaurant_id, pg_catalog.array_agg(t) as ids
        from old_rows o cross join lateral pg_catalog.unnest(array[o.table_a, o.table_b]) t
       group by o.restaurant_id
    loop
      perform private.replan_broken_holds(r.restaurant_id, r.ids, 'tables stopped being adjacent');
    end loop;
  elsif tg_table_name = 'service_periods' then
    for r in select distinct o.restaurant_id from old_rows o loop
      perform private.replan_broken_holds(r.restaurant_id, null, 'the service hours changed');
    end loop;
  end if;
  return null;
end $$;

create trigger replan_broken_holds after update on public.restaurant_tables
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.replan_after_floor_plan_change();
create trigger replan_broken_holds_updated after update on public.table_adjacency
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.replan_after_floor_plan_change();
create trigger replan_broken_holds_deleted after delete on public.table_adjacency
  referencing old table as old_rows
  for each statement execute function private.replan_after_floor_plan_change();
create trigger replan_broken_holds_updated after update on public.service_periods
  referencing old table as old_rows new table as new_rows
  for each statement execute function private.replan_after_floor_plan_change();
create trigger replan_broken_holds_deleted after delete on public.service_periods
  referencing old table as old_rows
  for each statement execute function private.replan_after_floor_plan_change();
create trigger replan_broken_holds after update of timezone on public.restaurants
  for each row when (old.timezone is distinct from new.timezone)
  execute function private.replan_after_floor_plan_change();

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
