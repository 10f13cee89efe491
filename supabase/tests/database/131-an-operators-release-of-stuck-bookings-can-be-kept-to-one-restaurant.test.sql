-- An operator's release of stuck bookings can be kept to one restaurant; without one it takes every
-- restaurant's, as before (20261231110000). Called as service_role, as Studio's operators and the Data API do.
begin;
select plan(7);

select tests.create_restaurant('Fixed Here') as a \gset
select tests.create_restaurant('Left Alone') as b \gset
select tests.create_booking(:'a', 2, '2030-03-07 19:00+00') as stuck_a \gset
select tests.create_booking(:'b', 2, '2030-03-07 19:00+00') as stuck_b \gset
-- Both waiting for an hour with no progress, each dispatched a few times already.
set local session_replication_role = replica;
update public.bookings set updated_at = now() - interval '1 hour', dispatch_count = 3
 where id in (:'stuck_a', :'stuck_b');
reset session_replication_role;
select updated_at as b_updated from public.bookings where id = :'stuck_b' \gset

set local role service_role;
select ops.release_stuck(30, 'ana', :'a') as released \gset
reset role;
select is(:'released'::jsonb, '{"released_leases": 0, "redispatched": 1, "joined_queue": 0, "escalated": 0, "skipped_busy": 0, "left": 0}'::jsonb,
  'kept to a restaurant, a release takes only its stuck booking and counts only its own left');
select is((select array[dispatch_count::text, (updated_at > now() - interval '1 minute')::text]
             from public.bookings where id = :'stuck_a'),
  array['0', 'true'], 'that booking is dispatched again from a count of none');
select is((select array[dispatch_count::text, updated_at::text] from public.bookings where id = :'stuck_b'),
  array['3', :'b_updated'], 'the other restaurant''s stuck booking is untouched');
select is((select restaurant_id from public.observability_events
            where event_type = 'ops.release_stuck' order by id desc limit 1), :'a'::uuid,
  'the release''s event names the restaurant it kept to');

-- A restaurant that does not exist is refused (a mistyped id would otherwise release nothing and say so).
select gen_random_uuid() as nowhere \gset
set local role service_role;
select throws_ok(format($$select ops.release_stuck(30, 'ana', %L)$$, :'nowhere'), 'AS005',
  format('restaurant %s does not exist', :'nowhere'), 'a release for a restaurant that does not exist is refused');
reset role;

-- Without a restaurant, every restaurant's, as the two-argument call always did.
set local role service_role;
select ops.release_stuck(30, 'ana') ->> 'redispatched' as everywhere \gset
reset role;
select is(:'everywhere'::int, 1, 'without a restaurant a release takes the stuck bookings of every restaurant');
select is((select dispatch_count from public.bookings where id = :'stuck_b'), 0, 'the other restaurant''s too');

select * from finish();
rollback;
