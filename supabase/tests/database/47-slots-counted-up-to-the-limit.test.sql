-- A restaurant's slots are counted only up to its max_parallel (20261215010000), and the queue decisions that
-- read the count are what they were: a new booking joins the queue while every slot is spoken for, and a
-- leaving booking wakes as many as it frees.
begin;
select plan(9);

select tests.create_restaurant('Counted slots') as r \gset
select tests.add_table(:'r', 'C1', 4);
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 2);

-- Two dispatched and not begun speak for both slots; the next six join the queue. Inserted as a platform
-- inserts them, as service_role.
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at)
select :'r', 2, timestamptz '2030-06-01 17:00+00' + make_interval(mins => 15 * i) from generate_series(1, 8) i;
reset role;
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

-- Every limit from 1 to 4, every number in flight below it and every number of the queue due: the count is
-- the full count, cut at the limit.
create function pg_temp.mismatches() returns table (cases integer, capped integer, wrong integer)
language plpgsql as $$
declare
  r uuid;
  full_count integer;
  got integer;
begin
  cases := 0; capped := 0; wrong := 0;
  for mp in 1..4 loop
    r := tests.create_restaurant('Counted slots, limit ' || mp);
    perform tests.add_table(r, 'M1', 4);
    insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (r, mp);
    set local role service_role;
    insert into public.bookings (restaurant_id, party_size, start_at)
    select r, 2, timestamptz '2030-07-01 17:00+00' + make_interval(mins => 15 * i) from generate_series(1, mp + 5) i;
    reset role;
    for flying in reverse mp..0 loop
      for due in 0..5 loop
        update public.bookings b set next_attempt_at = case when q.n <= due then now() - interval '1 second'
                                                            else now() + interval '10 seconds' end
          from (select id, row_number() over (order by start_at) as n from public.bookings
                 where restaurant_id = r and deferred_since is not null) q
         where b.id = q.id;
        select count(*) filter (where x.assignment_state = 'assignment_in_progress'
                                   or x.assignment_state = 'created' and x.deferred_since is null
                                      and x.next_attempt_at > now())
             + count(*) filter (where x.deferred_since is not null and private.is_queued(x.assignment_state)
                                  and x.next_attempt_at <= now())
          into full_count from public.bookings x where x.restaurant_id = r;
        got := private.slots_taken(r, now());
        cases := cases + 1;
        capped := capped + (full_count > mp)::int;
        wrong := wrong + (got is distinct from least(full_count, mp))::int;
      end loop;
      -- One fewer in flight, its wake switched off so the queue stays as it is.
      alter table public.bookings disable trigger wake_next_deferred;
      perform public.cancel_booking(x.id, 'guest cancelled') from public.bookings x
        where x.id = (select y.id from public.bookings y
                       where y.restaurant_id = r and y.deferred_since is null and y.assignment_state = 'created'
                       order by y.start_at limit 1);
      alter table public.bookings enable trigger wake_next_deferred;
    end loop;
  end loop;
  return next;
end $$;
select * into temp sweep from pg_temp.mismatches();
select is((select wrong from sweep), 0, 'across limits 1 to 4, in flight and due: the count cut at the limit, every time');
select ok((select capped > 20 and cases = 84 from sweep), 'and the sweep did reach past the limit');

select * from finish();
rollback;
