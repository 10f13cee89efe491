-- An operator's retry of one review whose stay is over is refused, with nothing written; one whose stay is under
-- way is sent back (20261231420000). Called as service_role, as Studio and the Data API run ops calls.
begin;
select plan(7);

select tests.create_restaurant('Retried late') as rid \gset
-- Ended a minute ago, ending this very moment (a stay's end is not part of it), and under way.
insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 2, now() - interval '2 hours', now() - interval '1 minute') returning id as ended \gset
insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 2, now() - interval '90 minutes', now()) returning id as ending \gset
insert into public.bookings (restaurant_id, party_size, start_at, end_at)
values (:'rid', 2, now() - interval '30 minutes', now() + interval '1 hour') returning id as under_way \gset
select tests.force_state(id, 'manual_review', 'no_table_fits: test setup')
  from unnest(array[:'ended', :'ending', :'under_way']::uuid[]) id;
select tests.mark_requests();
select count(*) as history_before from public.booking_assignment_state_history h
  join public.bookings b on b.id = h.booking_id where b.restaurant_id = :'rid' \gset

set local role service_role;
select throws_ok(format('select ops.retry_booking(%L, %L)', :'ended', 'ana'), 'AS001', null,
  'a retry of a review whose stay ended is refused as a state the call cannot act on (AS001)');
select throws_like(format('select ops.retry_booking(%L, %L)', :'ended', 'ana'),
  '%stay ended at%a visit that is over is not planned again%',
  'saying why');
select throws_like(format('select ops.retry_booking(%L, %L)', :'ending', 'ana'),
  '%stay ended at%', 'so is one whose stay ends this very moment');
select is(ops.retry_booking(:'under_way', 'ana') ->> 'outcome', 'queued',
  'a review whose stay is under way is sent back: the guest may be at the door');
reset role;

select is((select array_agg(assignment_state order by start_at) from public.bookings
            where id in (:'ended', :'ending', :'under_way')),
  array['manual_review', 'manual_review', 'assignment_pending'],
  'the refused ones stay in review');
select is((select count(*) from public.booking_assignment_state_history h
            join public.bookings b on b.id = h.booking_id where b.restaurant_id = :'rid') - :history_before,
  1::bigint, 'only the sent one has a new history row');
select is(array[tests.requests_since_mark(array[:'ended', :'ending']::uuid[]),
                (select count(*)::int from public.observability_events
                  where restaurant_id = :'rid' and event_type = 'ops.retry') ],
  array[0, 1], 'nothing is dispatched for the refused ones, and only the sent one has an ops.retry event');

select * from finish();
rollback;
