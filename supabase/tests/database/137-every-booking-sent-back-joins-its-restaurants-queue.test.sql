-- Every booking sent back to be planned joins its restaurant's queue when its slots are spoken for
-- (20261231160000): an operator's release or retry, a floor plan change and a seated party's longer stay send
-- as many requests as the restaurant has free slots, as a platform's change does, and queue the rest. The
-- operators' calls and the platform's writes run as service_role, as Studio and the Data API run them.
begin;
select plan(15);

-- Stuck for an hour: no progress, last dispatched long ago, not in the queue.
create function pg_temp.stuck(p_bookings uuid[]) returns void language plpgsql as $$
begin
  set local session_replication_role = replica;
  update public.bookings set updated_at = now() - interval '1 hour', next_attempt_at = now() - interval '1 hour',
                             deferred_since = null, dispatch_count = 3
   where id = any(p_bookings);
  set local session_replication_role = origin;
end $$;
create function pg_temp.queued(p_bookings uuid[]) returns integer language sql as $$
  select count(*)::int from public.bookings where id = any(p_bookings) and deferred_since is not null;
$$;

-- 1. An operator releases five stuck bookings of a restaurant with two slots: two are sent, three queue.
select tests.create_restaurant('Released') as released_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'released_rid', 2);
select array_agg(tests.create_booking(:'released_rid', 2, timestamptz '2030-08-01 17:00+00' + make_interval(hours => i))
                 order by i) as five
  from generate_series(1, 5) i \gset
select pg_temp.stuck(:'five');
select tests.mark_requests();
set local role service_role;
select ops.release_stuck(30, 'ana', :'released_rid') as answer \gset
reset role;
select is(tests.requests_since_mark(:'five'), 2, 'a release sends as many requests as the restaurant has free slots');
select is(pg_temp.queued(:'five'), 3, 'and puts the rest in its queue');
select is(array[(:'answer'::jsonb ->> 'redispatched')::int, (:'answer'::jsonb ->> 'joined_queue')::int], array[5, 3],
  'its answer counts the five sent back and the three queued');
select is((select (context ->> 'joined_queue')::int from public.observability_events
            where event_type = 'ops.release_stuck' and restaurant_id = :'released_rid'), 3,
  'so does its event');
select is((select count(*)::int from public.bookings where id = any(:'five'::uuid[]) and dispatch_count = 0), 5,
  'every one released starts its dispatch count over, queued or sent');

-- 2. A stalled queue (nothing claimed or swept it): three due bookings wait behind one in progress, with two
-- slots. A release sends for the free slot however the queue's bookings are counted.
select tests.create_restaurant('Stalled') as stall_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'stall_rid', 2);
select tests.create_booking(:'stall_rid', 2, '2030-08-02 18:00+00') as busy \gset
select tests.force_state(:'busy', 'assignment_in_progress');
select tests.queue_bookings(:'stall_rid', 3) as waiting \gset
set local session_replication_role = replica;
update public.bookings set updated_at = now() - interval '1 hour', next_attempt_at = now() - interval '50 minutes',
                           deferred_since = now() - interval '1 hour'
 where id = any(:'waiting'::uuid[]);
reset session_replication_role;
select tests.mark_requests();
set local role service_role;
select coalesce((ops.release_stuck(30, 'ana', :'stall_rid') ->> 'joined_queue')::int, -1) as stalled_queued \gset
reset role;
select is(array[tests.requests_since_mark(array[(:'waiting'::uuid[])[1]]),
                tests.requests_since_mark((:'waiting'::uuid[])[2:3]), (:'stalled_queued')::int],
  array[1, 0, 2], 'a release of a stalled queue sends its oldest booking for the free slot and queues the others');

select is((select deferred_since from public.bookings where id = (:'waiting'::uuid[])[1]), null,
  'the one it sent, which had waited an hour, starts its wait for a slot over (rate_limited at its next look otherwise)');

-- The same with younger bookings waiting behind them, not stuck yet: the release still sends the oldest it
-- releases for every slot nothing in progress holds, not one and the rest behind the queue.
select tests.create_restaurant('Stalled With Newcomers') as young_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'young_rid', 2);
select tests.queue_bookings(:'young_rid', 5) as lined_up \gset
set local session_replication_role = replica;
update public.bookings set next_attempt_at = now() - interval '1 minute' where id = any(:'lined_up'::uuid[]);
update public.bookings set updated_at = now() - interval '1 hour' where id = any((:'lined_up'::uuid[])[1:3]);
reset session_replication_role;
select tests.mark_requests();
set local role service_role;
select coalesce(ops.release_stuck(30, 'ana', :'young_rid') ->> 'joined_queue', '-1') as young_queued \gset
reset role;
select is(array[tests.requests_since_mark((:'lined_up'::uuid[])[1:2]), tests.requests_since_mark((:'lined_up'::uuid[])[3:5]),
                (:'young_queued')::int],
  array[2, 0, 1], 'the two oldest are sent, the third queues, the younger ones are left to the claims');

-- 3. An operator's retry of a booking in review: queued while the restaurant is busy, sent while a slot is free.
select tests.create_booking(:'stall_rid', 2, '2030-08-03 18:00+00') as reviewed \gset
select tests.force_state(:'reviewed', 'manual_review');
select tests.mark_requests();
set local role service_role;
select ops.retry_booking(:'reviewed', 'ana') as retried \gset
reset role;
select is(array[tests.requests_since_mark(array[:'reviewed'::uuid]), pg_temp.queued(array[:'reviewed'::uuid]),
                (:'retried'::jsonb ->> 'waits_for_slot')::boolean::int],
  array[0, 1, 1], 'a retry while every slot is taken joins the queue and says so');
select tests.create_restaurant('Quiet') as quiet_rid \gset
select tests.create_booking(:'quiet_rid', 2, '2030-08-03 18:00+00') as quiet \gset
select tests.force_state(:'quiet', 'manual_review');
select tests.mark_requests();
set local role service_role;
select coalesce(ops.retry_booking(:'quiet', 'ana') ->> 'waits_for_slot', 'unsaid') as quiet_waits \gset
reset role;
select is(array[tests.requests_since_mark(array[:'quiet'::uuid])::text, :'quiet_waits'], array['1', 'false'],
  'a retry while a slot is free is sent at once');

-- 4. An operator's retry of many bookings in review, at a restaurant with one slot.
select tests.create_restaurant('After The Incident') as many_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'many_rid', 1);
select array_agg(tests.create_booking(:'many_rid', 2, timestamptz '2030-08-06 17:00+00' + make_interval(hours => i))
                 order by i) as reviews
  from generate_series(1, 3) i \gset
select tests.force_state(id, 'manual_review', 'coordinator_unreachable: test') from unnest(:'reviews'::uuid[]) id;
select tests.mark_requests();
set local role service_role;
select ops.retry_bookings('coordinator_unreachable', 'ana', now() - interval '1 hour', :'many_rid') as retried_many \gset
reset role;
select is(array[tests.requests_since_mark(:'reviews'), pg_temp.queued(:'reviews'),
                coalesce((:'retried_many'::jsonb ->> 'joined_queue')::int, -1)],
  array[1, 2, 2], 'a retry of many sends one for the one slot and queues the others, and says so');

-- 5. A floor plan change that breaks three bookings' tables, at a restaurant with one slot.
select tests.create_restaurant('Rearranged') as plan_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'plan_rid', 1);
select tests.add_table(:'plan_rid', 'R1', 4) as r1 \gset
select tests.add_table(:'plan_rid', 'R2', 4) as r2 \gset
select array[tests.confirmed_on(:'plan_rid', 2, '2030-08-04 17:00+00', :'r1'),
             tests.confirmed_on(:'plan_rid', 2, '2030-08-04 20:00+00', :'r1'),
             tests.confirmed_on(:'plan_rid', 2, '2030-08-04 23:00+00', :'r1')] as broken \gset
set local role service_role;
update public.restaurant_tables set out_of_service = true where id = :'r1';
reset role;
select tests.mark_requests();
select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', :'plan_rid')
  as rechecked \gset
select is((select count(*)::int from public.bookings where id = any(:'broken'::uuid[]) and assignment_state = 'assignment_pending'),
  3, 'the re-check sends all three back to be planned');
select is(array[tests.requests_since_mark(:'broken'), pg_temp.queued(:'broken')], array[1, 2],
  'one is sent for the one slot, two queue');

-- 6. A seated party's longer stay that sends two bookings back, at a restaurant with one slot.
select tests.create_restaurant('Long Dinner') as stay_rid \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'stay_rid', 1);
select tests.add_table(:'stay_rid', 'T1', 4) as t1 \gset
select tests.confirmed_on(:'stay_rid', 2, '2030-08-05 17:00+00', :'t1') as seated \gset
select array[tests.confirmed_on(:'stay_rid', 2, '2030-08-05 20:00+00', :'t1'),
             tests.confirmed_on(:'stay_rid', 2, '2030-08-05 23:00+00', :'t1')] as in_the_way \gset
select tests.mark_requests();
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
update public.bookings set end_at = '2030-08-06 02:00+00' where id = :'seated';
reset role;
select is(tests.hold_of(:'seated'), tests.stay_of(:'seated'), 'the longer stay holds its table');
select is(array[tests.requests_since_mark(:'in_the_way'), pg_temp.queued(:'in_the_way')], array[1, 1],
  'of the two bookings it sends back, one is sent for the one slot and one queues');

select * from finish();
rollback;
