-- The 30-minute lock window is read on the clock when a booking would move, not at its transaction's start
-- (20261230050000): private.is_locked, which the snapshot's locked flag and every move (private.apply_moves)
-- ask, reads the clock, so a call that waited moves no booking that came within the window meanwhile. The wait
-- is played by pg_sleep inside this test's one transaction, whose now() stands still.
begin;
select plan(3);

create function pg_temp.confirmed_starting(p_start timestamptz) returns public.bookings language sql as $$
  select (pg_catalog.jsonb_populate_record(null::public.bookings, pg_catalog.jsonb_build_object(
            'start_at', p_start, 'status', 'confirmed', 'assignment_state', 'confirmed'))).*
$$;
select now() + interval '30 minutes 3 seconds' as soon \gset

select ok(not private.is_locked(pg_temp.confirmed_starting(:'soon'), false),
  'a booking 30 minutes and three seconds away may move');
select pg_sleep(3.5);
select ok(private.is_locked(pg_temp.confirmed_starting(:'soon'), false),
  'three and a half seconds later, within the same transaction, it may not');
select ok(not private.is_locked(pg_temp.confirmed_starting(now() + interval '2 hours'), false),
  'one two hours away still may');

select * from finish();
rollback;
