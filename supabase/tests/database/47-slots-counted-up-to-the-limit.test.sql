-- A restaurant's slots are counted only up to its max_parallel (20261215010000), and the queue decisions that
-- read the count are what they were: a new booking joins the queue while every slot is spoken for, and a
-- leaving booking wakes as many as it frees.
begin;
select plan(7);

select tests.create_restaurant('Counted slots') as r \gset
select tests.add_table(:'r', 'C1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 2);

-- Two dispatched and not begun speak for both slots; the next six join the queue.
select tests.create_booking(:'r', 2, timestamptz '2030-06-01 17:00+00' + make_interval(mins => 15 * i))
  from generate_series(1, 8) i;
select is((select count(*)::int from public.bookings where restaurant_id = :'r' and deferred_since is not null), 6,
  'with both slots spoken for, the six after them join the queue');
select is(private.slots_taken(:'r', now()), 2, 'the two in flight are counted');

-- The queue waits out its fallback: every one of the six is due, and counts as woken.
update public.bookings set next_attempt_at = now() - interval '1 second'
 where restaurant_id = :'r' and deferred_since is not null;
select is(private.slots_taken(:'r', now()), 2, 'counted up to max_parallel, not the whole queue');

-- With the two in flight gone and one queued booking due, one slot is spoken for and the wake takes one more.
update public.bookings set next_attempt_at = now() + interval '10 seconds'
 where restaurant_id = :'r' and deferred_since is not null;
update public.bookings set next_attempt_at = now() - interval '1 second'
 where id = (select id from public.bookings where restaurant_id = :'r' and deferred_since is not null
              order by start_at limit 1);
alter table public.bookings disable trigger wake_next_deferred;
select public.cancel_booking(id, 'guest cancelled') from public.bookings
 where restaurant_id = :'r' and deferred_since is null;
alter table public.bookings enable trigger wake_next_deferred;
select is(private.slots_taken(:'r', now()), 1, 'below the limit the count is exact');

-- A queued booking cancelled wakes the longest-waiting ones for the slots that are free: one here.
select public.cancel_booking(id, 'guest cancelled') from public.bookings
 where restaurant_id = :'r' and deferred_since is not null
 order by start_at desc limit 1;
select is((select count(*)::int from public.bookings
            where restaurant_id = :'r' and deferred_since is not null and next_attempt_at <= now()), 2,
  'the wake made one more due: two woken for two slots');
select is(private.slots_taken(:'r', now()), 2, 'and both slots are spoken for again');

-- Fewer in flight than the limit and a long queue all due: the woken are counted only up to the slots left.
select tests.create_restaurant('Counted slots, long queue') as q \gset
select tests.add_table(:'q', 'L1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'q', 3);
select tests.create_booking(:'q', 2, timestamptz '2030-06-02 17:00+00' + make_interval(mins => 15 * i))
  from generate_series(1, 8) i;
alter table public.bookings disable trigger wake_next_deferred;
select public.cancel_booking(id, 'guest cancelled') from public.bookings
 where restaurant_id = :'q' and deferred_since is null
 order by start_at limit 2;
alter table public.bookings enable trigger wake_next_deferred;
update public.bookings set next_attempt_at = now() - interval '1 second'
 where restaurant_id = :'q' and deferred_since is not null;
select is(private.slots_taken(:'q', now()), 3, 'one in flight and two of the five woken: the limit of three');

select * from finish();
rollback;
