-- The ways a party size can be seated in a restaurant (private.seating_options: its single tables and the
-- combinations of adjacent ones) are worked out once per floor plan, not once per manual review.
--
-- They depend only on the restaurant's tables and adjacency, the party size and the combination limit, yet
-- every escalation searched them again before looking at the alternative times: a recursive search over the
-- room's chains, about 8 ms of a 10.5 ms alternatives search in a 60-table room. In the reservation-drop
-- benchmark (300 bookings for one evening, 130 of them reviewed) that was about 3 ms of Postgres CPU per
-- booking on a 2-core machine the whole drop shares (pg_stat_statements, nested). The review queue searched them
-- again for every reviewed booking it listed.
--
-- Now the escalation keeps what it worked out in private.seating_options_cache, keyed by the restaurant, the
-- party size, the combination limit and the number of the restaurant's floor-plan changes so far (the change
-- log of 20261205030000, which every statement changing its tables or adjacency appends to). A reader whose
-- snapshot counts a different number of changes does not use the row and works the options out itself, so a
-- floor plan edited since is never read from the cache. Equal counts mean equal floor plans: the log is only
-- appended to, each change is at least one row, and a snapshot sees the changes committed before it, a prefix
-- of their commit order. Only the escalation writes (before the restaurant lock, and only when its count has
-- no row yet); the queue and accepting an alternative only read.

create table private.seating_options_cache (
  restaurant_id uuid not null references public.restaurants (id) on delete cascade,
  party_size integer not null,
  max_tables integer not null,
  floor_plan_changes bigint not null,
  options jsonb not null,
  primary key (restaurant_id, party_size, max_tables)
);
comment on table private.seating_options_cache is
  'private.seating_options worked out for a restaurant, party size and combination limit, valid while the restaurant''s count of floor-plan changes (private.floor_plan_changes) is floor_plan_changes.';
alter table private.seating_options_cache enable row level security;
revoke all on private.seating_options_cache from public, anon, authenticated, service_role;

alter function private.seating_options(public.bookings) rename to work_out_seating_options;

-- How many floor-plan changes of the restaurant this snapshot sees (as private.rules_digest counts them).
create function private.floor_plan_version(p_restaurant_id uuid)
returns bigint language plpgsql stable set search_path = '' as $$
begin
  return (select count(*) from private.floor_plan_changes c where c.restaurant_id = p_restaurant_id);
end $$;

create function private.seating_options(b public.bookings)
returns jsonb language plpgsql stable set search_path = '' as $$
declare
  kept jsonb;
begin
  select c.options into kept
    from private.seating_options_cache c
   where c.restaurant_id = b.restaurant_id and c.party_size = b.party_size
     and c.max_tables = (private.settings_for(b.restaurant_id)).max_tables_per_booking
     and c.floor_plan_changes = private.floor_plan_version(b.restaurant_id);
  return coalesce(kept, private.work_out_seating_options(b));
end $$;

-- Keeps the options for the booking's party size unless a row for this floor plan is there already. A row for
-- an older floor plan is replaced; one for a newer floor plan (written by a transaction that sees more changes)
-- is left alone.
create function private.remember_seating_options(b public.bookings)
returns void language plpgsql set search_path = '' as $$
declare
  version bigint := private.floor_plan_version(b.restaurant_id);
  limit_tables integer := (private.settings_for(b.restaurant_id)).max_tables_per_booking;
begin
  if exists (select 1 from private.seating_options_cache c
              where c.restaurant_id = b.restaurant_id and c.party_size = b.party_size
                and c.max_tables = limit_tables and c.floor_plan_changes = version) then
    return;
  end if;
  insert into private.seating_options_cache as c (restaurant_id, party_size, max_tables, floor_plan_changes, options)
  values (b.restaurant_id, b.party_size, limit_tables, version, private.work_out_seating_options(b))
  on conflict (restaurant_id, party_size, max_tables) do update
     set floor_plan_changes = excluded.floor_plan_changes, options = excluded.options
   where c.floor_plan_changes < excluded.floor_plan_changes;
end $$;

-- Body as in 20261207010000, keeping the options first (it now writes, so it is no longer stable; its callers,
-- assignment_fail and private.record_escalation, write anyway).
create or replace function private.escalation_offer(p_booking_id uuid, p_reason text)
returns jsonb language plpgsql volatile set search_path = '' as $$
declare
  offer jsonb := '{}'::jsonb;
begin
  if private.fixable_by_time(p_reason) then
    perform private.remember_seating_options(b) from public.bookings b where b.id = p_booking_id;
    select pg_catalog.jsonb_build_object('alternatives', coalesce(pg_catalog.jsonb_agg(
             pg_catalog.jsonb_build_object('start_at', a -> 'start_at', 'offset_minutes', a -> 'offset_minutes',
                                           'tables', a -> 'tables')), '[]'::jsonb))
      into offer
      from public.bookings b, pg_catalog.jsonb_array_elements(private.seating_alternatives(b)) a
     where b.id = p_booking_id;
  end if;
  return offer;
end $$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
