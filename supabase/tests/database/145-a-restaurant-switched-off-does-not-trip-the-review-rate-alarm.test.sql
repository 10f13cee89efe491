-- A restaurant switched off does not trip the review-rate alarm (20261231240000): ops.health's share of the last
-- hour's bookings in review counts the bookings the pipeline decides, not those of a restaurant whose automatic
-- assignment is off, each of which goes to review by design. Read as an operator does, through service_role;
-- compared with what health said before, since other tests' bookings of the last hour count too.
begin;
select plan(6);

create function pg_temp.review_rate() returns jsonb language plpgsql as $$
declare health jsonb;
begin
  set local role service_role;
  health := ops.health();
  reset role;
  return health -> 'manual_review_last_hour';
end $$;
select pg_temp.review_rate() as before \gset

-- A restaurant switched off: its 25 bookings of the hour each go to review when the coordinator takes them.
select tests.create_restaurant('Switched off') as off_rid \gset
select tests.add_table(:'off_rid', 'O1', 4);
select ops.set_restaurant_mode(:'off_rid', 'off', 'ana', 'closed for a private event') is not null as set_off \gset
create temp table off_bookings as
  select tests.create_booking(:'off_rid', 2, '2030-10-01 12:00+00'::timestamptz + make_interval(hours => i)) as id
    from generate_series(1, 25) i;
select count(public.assignment_begin(id)) as begun from off_bookings \gset
select is((select count(*)::int from public.bookings b join off_bookings o using (id)
            where b.assignment_state = 'manual_review' and b.manual_review_reason like 'automatic_assignment_off:%'), 25,
  'every booking of the restaurant switched off is in review');
select pg_temp.review_rate() as after_off \gset
select is(array[(:'after_off'::jsonb ->> 'bookings')::int - (:'before'::jsonb ->> 'bookings')::int,
                (:'after_off'::jsonb ->> 'manual_review')::int - (:'before'::jsonb ->> 'manual_review')::int],
  array[0, 0], 'and none of them counts toward the review rate');
select is(:'after_off'::jsonb -> 'by_reason' -> 'automatic_assignment_off', :'before'::jsonb -> 'by_reason' -> 'automatic_assignment_off',
  'nor in what the reviews are for');

-- Switched on again: one sent back and escalated by the sweeper without a lease (the coordinator unreachable)
-- keeps its last mode, off, but that review is a fault, and counts.
select tests.force_state((select id from off_bookings limit 1), 'assignment_pending') is not null as sent_back \gset
select tests.force_state((select id from off_bookings limit 1), 'manual_review',
  'coordinator_unreachable: no coordinator answered after 12 dispatches') is not null as escalated \gset
select pg_temp.review_rate() as after_fault \gset
select is(array[(:'after_fault'::jsonb ->> 'bookings')::int - (:'after_off'::jsonb ->> 'bookings')::int,
                (:'after_fault'::jsonb ->> 'manual_review')::int - (:'after_off'::jsonb ->> 'manual_review')::int],
  array[1, 1], 'a review of such a booking for a fault counts');
select tests.force_state((select id from off_bookings limit 1), 'assignment_pending') is not null as again \gset
select tests.force_state((select id from off_bookings limit 1), 'manual_review',
  'automatic_assignment_off: automatic assignment is off for this restaurant (off); assign tables by hand') is not null as back_off \gset

-- A restaurant the pipeline decides for: its reviews count, and so do its other bookings.
select tests.create_restaurant('Deciding') as v3_rid \gset
create temp table v3_bookings as
  select tests.create_booking(:'v3_rid', 2, '2030-10-02 12:00+00'::timestamptz + make_interval(hours => i)) as id
    from generate_series(1, 4) i;
select count(tests.force_state(id, 'manual_review', 'no_table_fits: no free table or combination seats the party'))
  from (select id from v3_bookings limit 3) x;
select pg_temp.review_rate() as after_v3 \gset
select is(array[(:'after_v3'::jsonb ->> 'bookings')::int - (:'after_off'::jsonb ->> 'bookings')::int,
                (:'after_v3'::jsonb ->> 'manual_review')::int - (:'after_off'::jsonb ->> 'manual_review')::int],
  array[4, 3], 'a deciding restaurant''s bookings and reviews count');
select is((:'after_v3'::jsonb -> 'by_reason' ->> 'no_table_fits')::int - coalesce((:'after_off'::jsonb -> 'by_reason' ->> 'no_table_fits')::int, 0), 3,
  'with what they are for');

select * from finish();
rollback;
