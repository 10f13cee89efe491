-- A sample restaurant for the demo: two zones, chainable 2-tops, 4-tops, a round 6, a fixed booth,
-- and a terrace. Turn times by party size follow the pattern of the restaurant-operations literature
-- (larger parties stay longer), with a 10-minute reset after each party.
-- Idempotent: re-running replaces the restaurant.
delete from public.bookings where restaurant_id = '00000000-0000-4000-8000-00000000b157';
delete from public.restaurants where id = '00000000-0000-4000-8000-00000000b157';

insert into public.restaurants (id, name, timezone, default_turn_minutes)
values ('00000000-0000-4000-8000-00000000b157', 'Harbour Bistro', 'Europe/London', 120);

insert into public.zones (restaurant_id, name)
select '00000000-0000-4000-8000-00000000b157', z from unnest(array['Main Room', 'Terrace']) z;

insert into public.restaurant_tables (restaurant_id, zone_id, table_number, capacity, min_party_size, max_party_size, movable)
select '00000000-0000-4000-8000-00000000b157', z.id, t.num, t.cap, t.min_p, t.max_p, t.movable
  from (values
    ('Main Room', 'M1', 2, 1, 2, true), ('Main Room', 'M2', 2, 1, 2, true), ('Main Room', 'M3', 2, 1, 2, true),
    ('Main Room', 'M4', 2, 1, 2, true), ('Main Room', 'M5', 4, 2, 4, true), ('Main Room', 'M6', 4, 2, 4, true),
    ('Main Room', 'M7', 4, 2, 4, true), ('Main Room', 'M8', 6, 4, 6, false), ('Main Room', 'B1', 8, 5, 8, false),
    ('Terrace', 'T1', 2, 1, 2, true), ('Terrace', 'T2', 2, 1, 2, true), ('Terrace', 'T3', 4, 2, 4, true),
    ('Terrace', 'T4', 4, 2, 4, true)
  ) as t(zone, num, cap, min_p, max_p, movable)
  join public.zones z on z.restaurant_id = '00000000-0000-4000-8000-00000000b157' and z.name = t.zone;

-- Chains of tables that can be pushed together: M1–M2–M3–M4 along the banquette, M5–M6–M7 in the
-- middle, T1–T2 and T3–T4 on the terrace.
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select '00000000-0000-4000-8000-00000000b157', a.id, b.id
  from (values ('M1', 'M2'), ('M2', 'M3'), ('M3', 'M4'), ('M5', 'M6'), ('M6', 'M7'), ('T1', 'T2'), ('T3', 'T4'))
       as e(x, y)
  join public.restaurant_tables a on a.restaurant_id = '00000000-0000-4000-8000-00000000b157' and a.table_number = e.x
  join public.restaurant_tables b on b.restaurant_id = '00000000-0000-4000-8000-00000000b157' and b.table_number = e.y;

insert into public.turn_time_policies (restaurant_id, min_party_size, max_party_size, dining_minutes, buffer_after_minutes)
values ('00000000-0000-4000-8000-00000000b157', 1, 2, 75, 10),
       ('00000000-0000-4000-8000-00000000b157', 3, 4, 90, 10),
       ('00000000-0000-4000-8000-00000000b157', 5, 6, 110, 10),
       ('00000000-0000-4000-8000-00000000b157', 7, 20, 130, 15);

insert into public.service_periods (restaurant_id, name, day_of_week, starts_at, ends_at)
select '00000000-0000-4000-8000-00000000b157', p.name, d, p.starts_at, p.ends_at
  from generate_series(0, 6) d,
       (values ('Lunch', time '12:00', time '15:30'), ('Dinner', time '17:30', time '23:30')) as p(name, starts_at, ends_at);

-- The demo restaurant lets the engine move not-yet-seated bookings when that seats one more (off by default).
select ops.set_reoptimization(true, 'demo seed', '00000000-0000-4000-8000-00000000b157', 'show re-optimisation');
