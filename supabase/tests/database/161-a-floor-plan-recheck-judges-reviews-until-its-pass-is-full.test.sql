-- A floor-plan re-check judges the reviews ahead one at a time, soonest first, until its pass has what it needs
-- (20261231410000): with 45 reviews ahead, each kept with what "nothing fits" was said of, and a table added, a
-- pass judges about 21 of them, not 45, sends back the 20 soonest and says more are left; passes one after
-- another send every one back, in start order; where broken bookings take all 20, a pass still says a review
-- is left; and reviews it cannot change hold back none behind them.
begin;
select plan(9);
set local track_functions = 'all';
-- A judgement asks the booking's rules digest once (private.review_judgement, a SQL function, is inlined and
-- not counted itself; private.rules_digest is PL/pgSQL).
create function pg_temp.judged() returns bigint language sql as $$
  select coalesce(pg_stat_get_xact_function_calls(
    'private.rules_digest(public.bookings, private.pipeline_settings)'::regprocedure), 0)
$$;
create function pg_temp.pending(p_restaurant uuid) returns uuid[] language sql as $$
  select coalesce(array_agg(id order by start_at, id), '{}') from public.bookings
   where restaurant_id = p_restaurant and assignment_state = 'assignment_pending'
$$;

-- n parties of 4 at a restaurant of one 4-top, one every 10 minutes from noon on p_day, each leased and sent to
-- review by the coordinator as nothing fitting (their judgement kept); in start order.
create function pg_temp.reviewed_fours(p_restaurant uuid, p_day date, n integer) returns table (i integer, id uuid)
language plpgsql as $$
declare
  booking uuid;
begin
  for k in 1..n loop
    booking := tests.create_booking(p_restaurant, 4, p_day + time '12:00' + make_interval(mins => 10 * k));
    perform public.assignment_fail(booking, tests.lease_token(public.assignment_begin(booking)), 'no_fit',
                                   'no_table_fits: no free table or combination seats a party of 4');
    i := k;
    id := booking;
    return next;
  end loop;
end $$;

-- One 4-top; 45 parties of 4 the coordinator leased and sent to review as nothing fitting, one every 10
-- minutes, each kept with what that was said of.
select tests.create_restaurant('Full house') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
create temp table reviewed as select * from pg_temp.reviewed_fours(:'rid', '2030-09-02', 45);
select is((select count(*)::int from public.bookings b join private.review_judgements j on j.booking_id = b.id
             where b.restaurant_id = :'rid' and b.assignment_state = 'manual_review'),
  45, '45 reviews ahead, each with its judgement kept');

-- A 4-top is added: a change that may seat them.
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select pg_temp.judged() as before \gset
select private.replan_broken_holds(:'rid', now()) as pass \gset
select ok(pg_temp.judged() - :before between 21 and 30, format('the first pass judged %s reviews, not all 45', pg_temp.judged() - :before));
select is(array[(:'pass'::jsonb ->> 'replanned')::int, (:'pass'::jsonb ->> 'left')::int], array[20, 1],
  'sent back 20, and says more are left');
select is(pg_temp.pending(:'rid'), (select array_agg(id order by i) from reviewed where i <= 20),
  'the 20 soonest');
select private.replan_broken_holds(:'rid', now()) as pass \gset
select private.replan_broken_holds(:'rid', now()) as last_pass \gset
select is(array[(:'last_pass'::jsonb ->> 'replanned')::int, (:'last_pass'::jsonb ->> 'left')::int], array[5, 0],
  'the third pass sends back the last five and finds none left');
select is(pg_temp.pending(:'rid'), (select array_agg(id order by i) from reviewed), 'every review was sent back');

-- Broken bookings fill a pass on their own: 25 couples confirmed on T1 at once (the 2-top made a 1-top, so
-- its tables no longer seat them), beside 3 reviews ahead.
select tests.create_restaurant('Broken') as broken_rid \gset
select tests.add_table(:'broken_rid', 'B1', 2) as b1 \gset
select count(tests.confirmed_on(:'broken_rid', 2, timestamptz '2030-09-03 12:00+00' + make_interval(hours => 3 * i), :'b1')) as couples
  from generate_series(1, 25) i \gset
select count(public.assignment_fail(x.id, tests.lease_token(public.assignment_begin(x.id)), 'no_fit', 'no_table_fits: none')) as three
  from (select tests.create_booking(:'broken_rid', 3, timestamptz '2030-09-03 13:00+00' + make_interval(hours => 3 * i)) as id
          from generate_series(1, 3) i) x \gset
update public.restaurant_tables set capacity = 1, max_party_size = 1, min_party_size = 1 where id = :'b1';
select tests.add_table(:'broken_rid', 'B2', 4) as b2 \gset
select private.replan_broken_holds(:'broken_rid', now()) as pass \gset
select is(array[(:'pass'::jsonb ->> 'replanned')::int, (:'pass'::jsonb ->> 'left')::int], array[20, 6],
  'the broken bookings first: 20 sent back, five of them and a review at least left');

-- Reviews that cannot be changed (a platform's trigger refuses them, as in test 91) at the front hold back
-- none behind them: 25 refused, then 5 a table added may seat; a pass sends the five back.
select tests.create_restaurant('Refusing') as refusing_rid \gset
select tests.add_table(:'refusing_rid', 'R1', 4) as r1 \gset
create temp table refusing as select * from pg_temp.reviewed_fours(:'refusing_rid', '2030-09-04', 30);
create function pg_temp.refuse_first() returns trigger language plpgsql as $$
begin
  if new.id in (select id from refusing where i <= 25) and new.assignment_state <> old.assignment_state then
    raise exception 'the platform refuses this change';
  end if;
  return new;
end $$;
-- As in 91: the strongest lock first, so the running stack waits for this transaction instead of deadlocking.
lock table public.bookings in access exclusive mode;
create trigger refuse_first before update on public.bookings for each row execute function pg_temp.refuse_first();
select tests.add_table(:'refusing_rid', 'R2', 4) as r2 \gset
select private.replan_broken_holds(:'refusing_rid', now()) as pass \gset
select is(pg_temp.pending(:'refusing_rid'), (select array_agg(id order by i) from refusing where i > 25),
  'the five behind the 25 it cannot change are sent back');
select is(array[(:'pass'::jsonb ->> 'replanned')::int, (:'pass'::jsonb ->> 'failed')::int, (:'pass'::jsonb ->> 'left')::int],
  array[5, 25, 0], 'the 25 count as failed, for the re-check to back off, and none is left unlooked at');
drop trigger refuse_first on public.bookings;

select * from finish();
rollback;
