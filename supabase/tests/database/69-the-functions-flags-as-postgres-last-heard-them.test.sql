-- The function's feature flags as Postgres last heard them (20261226020000): a rollback by the flags stops the
-- re-seating searches without using them up, hides V3's offers, and names what no lease reached for the path
-- the restaurant really takes.
begin;
select plan(17);


-- A restaurant on V3 (the fresh install's default), with a review a re-seating search may help: a couple holds
-- the only 4-top, so four guests fit at no time within ±90 minutes.
select tests.create_restaurant('Flags') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.confirmed_on(:'rid', 2, '2030-06-03 19:00+00', :'t2') as couple \gset
select tests.create_booking(:'rid', 4, '2030-06-03 19:00+00') as four \gset
select tests.force_state(:'four', 'manual_review', 'no_table_fits: no free table or combination seats the party');
select private.review_key(b) as key from public.bookings b where b.id = :'four' \gset
set local role service_role;
select public.review_offer_reseating(:'four', :'key', jsonb_build_array(jsonb_build_object(
  'start_at', '2030-06-03 19:15+00', 'table_ids', jsonb_build_array(:'t2'::uuid),
  'moves', jsonb_build_array(jsonb_build_object('booking_id', :'couple'::uuid,
    'from_table_ids', jsonb_build_array(:'t2'::uuid), 'to_table_ids', jsonb_build_array(:'t1'::uuid))))));
reset role;
-- Searched once with times left, so it is due for another search.
update private.reseating_offers set undecided = array['2030-06-03 20:15+00'::timestamptz] where booking_id = :'four';
select ok(:'four' = any(public.review_reseating_due(10, :'rid')), 'without a ceiling the review is due for its search');

-- The deployment rolls back by its flags (FEATURE_ASSIGNMENT_PIPELINE_V3=false): the next lease says so.
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as next \gset
set local role service_role;
select is(public.assignment_lease(:'next', 'test', p_mode_ceiling => 'legacy') ->> 'mode', 'legacy', 'the lease runs legacy');
reset role;
select is((select mode_ceiling from private.function_flags), 'legacy', 'and Postgres remembers the ceiling');
select ok((select changed_at is not null from private.function_flags), 'with when it changed');
select is(ops.rollout_status() -> 'function_flags' ->> 'mode_ceiling', 'legacy', 'ops.rollout_status shows it');
select alike((select m.mode || ': ' || m.reason from ops.restaurant_modes() m where m.restaurant_id = :'rid'),
  'legacy: capped by the function''s feature flags (%', 'and ops.restaurant_modes the mode the restaurant really runs');
set local role service_role;
select alike((select m ->> 'mode' || ': ' || (m ->> 'reason') from ops.set_restaurant_mode(:'rid', 'v3', 'ana', 'flags test') m),
  'legacy: capped by the function''s feature flags (restaurant override)',
  'setting it to v3 answers the mode it runs under the flags, not v3 (20261227200000)');
select ops.set_restaurant_mode(:'rid', null, 'ana', 'flags test') is not null as back_to_rollout \gset
reset role;

-- Under it (the legacy attempt over, so the restaurant has nothing in progress): no search is due, asked for
-- or sent (so none is used up), and V3's offer is not shown.
select tests.force_state(:'next', 'cancelled');
select is(public.review_reseating_probes(:'four') ->> 'reason', 'not_on_v3', 'a search asked for is not on V3');
create temp table posted (body jsonb);
create or replace function net.http_post(
  url text, body jsonb default '{}'::jsonb, params jsonb default '{}'::jsonb,
  headers jsonb default '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer default 5000
) returns bigint language plpgsql as $$
begin
  insert into pg_temp.posted values (body);
  return 1;
end $$;
select ok(not (:'four' = any(public.review_reseating_due(10, :'rid'))), 'no review is due for a search under the ceiling');
select ok(not private.nudge_reseating(:'rid'), 'the sweeper sends none');
select is((select count(*)::int from private.reseating_nudges where booking_id = :'four'), 0, 'and uses none of its three');
select is((select q.alternatives from ops.manual_review_queue(:'rid') q where q.booking_id = :'four'), '[]'::jsonb,
  'V3''s re-seating offer is not shown');

-- What no lease reached is named for the path the restaurant takes: legacy's names.
select tests.create_booking(:'rid', 2, '2030-06-05 19:00+00') as unreached \gset
update public.bookings set dispatch_count = 12, next_attempt_at = now() - interval '1 second' where id = :'unreached';
select private.sweep();
select is((select string_agg(source || ' ' || event_type, ', ' order by event_type) from public.observability_events
            where booking_id = :'unreached' and event_type not like 'booking.%'),
  'auto_assign auto_assign.failed, auto_assign auto_assign.summary',
  'the sweeper''s escalation of a booking no lease reached is legacy''s');
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now() - interval '1 minute');
select ops.reset_circuit_breaker(:'rid', 'ana', 'db fixed') ->> 'outcome' as reset \gset
select is((select source || ' ' || event_type from public.observability_events
            where restaurant_id = :'rid' and event_type like '%circuit_reset'),
  'auto_assign auto_assign.circuit_reset', 'so is a breaker reset');

-- The flags come back: the first lease without a ceiling says so, and the search is due again.
select tests.create_booking(:'rid', 2, '2030-06-06 19:00+00') as after \gset
set local role service_role;
select is(public.assignment_lease(:'after', 'test') ->> 'mode', 'v3', 'a lease without a ceiling runs v3');
reset role;
select is((select mode_ceiling from private.function_flags), null, 'Postgres forgets the ceiling');
-- (The lease ends, so the restaurant has nothing in progress and may be searched.)
select tests.force_state(:'after', 'cancelled');
select ok(:'four' = any(public.review_reseating_due(10, :'rid')), 'and the review is due for its search again, none used up');

select * from finish();
rollback;
