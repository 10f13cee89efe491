-- Found by a review of the ops calls and the rollout switches (20261210010000): finished bookings rewritten
-- by ops calls, a health alarm nothing could clear, a kill switch that switched assignment on, and pg_cron's
-- history growing for ever (the last is in 11-observability).
begin;
select plan(44);

select tests.create_restaurant('Ops Reach') as rid \gset
select tests.add_table(:'rid', 'R1', 4) as r1 \gset
select tests.add_table(:'rid', 'R2', 4) as r2 \gset

-- A party that has arrived, or whose booking is over, keeps its tables and hears nothing more.
select tests.create_booking(:'rid', 2, '2030-04-01 19:00+00') as seated \gset
select ops.assign_tables(:'seated', array['R1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
reset role;
select throws_like(format($$select ops.assign_tables(%L, array['R2'], 'ana')$$, :'seated'),
  '%is checked-in: a party that has arrived or whose booking is over keeps its tables%',
  'a checked-in party is not moved to other tables');
select throws_ok(format($$select ops.cancel_booking(%L, 'typo', 'ana')$$, :'seated'), 'AS001', null,
  'nor cancelled');
set local role service_role;
update public.bookings set status = 'completed' where id = :'seated';
reset role;
select throws_ok(format($$select ops.cancel_booking(%L, 'typo', 'ana')$$, :'seated'), 'AS001', null,
  'a completed booking is not cancelled');
set local role service_role;
update public.bookings set status = 'no_show' where id = :'seated';
reset role;
select throws_ok(format($$select ops.cancel_booking(%L, 'typo', 'ana')$$, :'seated'), 'AS001', null,
  'nor a no-show');
select is((select array[status, assignment_state] from public.bookings where id = :'seated'), array['no_show', 'confirmed'],
  'the booking is as the platform left it');
select is((select array_agg(t.table_number) from public.booking_table_assignments a join public.restaurant_tables t on t.id = a.table_id
            where a.booking_id = :'seated' and a.released_at is null), array['R1'], 'with its tables');
select is((select count(*)::int from public.notification_outbox where booking_id = :'seated' and kind <> 'booking_confirmed'), 0,
  'and no message about it was queued');
select throws_ok($$select ops.retry_booking(null, 'ana')$$, 'AS005', 'name the booking: p_booking_id is required',
  'a call without a booking says so');
select tests.create_booking(:'rid', 2, '2030-04-01 19:00+00') as ahead \gset
select is(ops.cancel_booking(:'ahead', 'guest called', 'ana') ->> 'to', 'cancelled', 'a booking still ahead is cancelled as before');

-- A manual assignment takes only what it can honour.
select tests.create_booking(:'rid', 2, '2030-04-03 19:00+00') as review \gset
select tests.force_state(:'review', 'manual_review');
select throws_ok(format($$select ops.assign_tables(%L, array['R1', 'R1'], 'ana')$$, :'review'), 'AS005',
  'name each table once, e.g. array[''M5'',''M6'']', 'a table named twice is refused');
select throws_ok(format($$select ops.assign_tables(%L, array['R1', null], 'ana')$$, :'review'), 'AS005',
  'name each table once, e.g. array[''M5'',''M6'']', 'a null table is refused');
select is(ops.assign_tables(:'review', array['R1'], 'ana', null) ->> 'outcome', 'confirmed',
  'a null reason is the default one');
select is((select reason from public.booking_assignment_state_history where booking_id = :'review' and to_state = 'confirmed'),
  'manual assignment', 'and is recorded so');
update public.bookings set start_at = now() - interval '3 hours' where id = :'review';
select throws_like(format($$select ops.assign_tables(%L, array['R2'], 'ana')$$, :'review'),
  '%there is no stay left to seat%', 'a booking whose stay is over is not confirmed again');

-- After an incident, one call sends back every booking of one reason code escalated since a time, whose
-- stay is still ahead.
select tests.create_booking(:'rid', 2, '2030-04-04 19:00+00') as open1 \gset
select tests.create_booking(:'rid', 2, '2030-04-04 20:00+00') as open2 \gset
select tests.create_booking(:'rid', 2, '2030-04-04 21:00+00') as open_past \gset
select tests.create_booking(:'rid', 2, '2030-04-04 22:00+00') as no_fit \gset
select tests.force_state(b, 'manual_review', 'circuit_open: test') from unnest(array[:'open1', :'open2', :'open_past']::uuid[]) b;
select tests.force_state(:'no_fit', 'manual_review', 'no_table_fits: test');
update public.bookings set start_at = now() - interval '1 hour' where id = :'open_past';
select is(ops.retry_bookings('circuit_open', 'ana', now() + interval '1 second'), '{"queued": 0, "joined_queue": 0, "busy": 0, "left": 0}'::jsonb,
  'escalated before the time given: left in review');
select is(ops.retry_bookings('circuit_open', 'ana', now() - interval '1 hour', :'rid', 1), '{"queued": 1, "joined_queue": 0, "busy": 0, "left": 1}'::jsonb,
  'one per call when asked: the soonest goes back, one is left');
select is(ops.retry_bookings('circuit_open', 'ana', now() - interval '1 hour', :'rid'), '{"queued": 1, "joined_queue": 0, "busy": 0, "left": 0}'::jsonb,
  'the next call sends back the other one still ahead, and none is left');
select is((select array_agg(array[assignment_state, attempt_count::text]
                           order by array_position(array[:'open1', :'open2', :'open_past', :'no_fit']::uuid[], id))
             from public.bookings
            where id in (:'open1', :'open2', :'open_past', :'no_fit')),
  array[['assignment_pending', '0'], ['assignment_pending', '0'], ['manual_review', '0'], ['manual_review', '0']],
  'due with a fresh budget; the one whose stay began and the one of another reason stay in review');
select ok((select last_dispatched_at = now() from public.bookings where id = :'open1'),
  'and sent at once, its restaurant having a free slot');
select throws_ok($$select ops.retry_bookings('circuit open', 'ana', now())$$, 'AS005', null, 'a reason code is a code');
select throws_ok($$select ops.retry_bookings('circuit_opn', 'ana', now() - interval '1 hour')$$, 'AS005',
  'no booking in review has the reason code circuit_opn, and it is not one of the pipeline''s',
  'a mistyped code is refused, not answered with zeros that read as a cleared backlog');
select is(ops.retry_bookings('rate_limited', 'ana', now() - interval '1 hour'), '{"queued": 0, "joined_queue": 0, "busy": 0, "left": 0}'::jsonb,
  'a code of the pipeline''s that no booking in review carries answers zeros');
select tests.create_booking(:'rid', 2, '2030-04-07 19:00+00') as platform_code \gset
select tests.force_state(:'platform_code', 'manual_review', 'maria_garcia_nut_allergy: call back');
select is(ops.retry_bookings('maria_garcia_nut_allergy', 'ana', now() - interval '1 hour') ->> 'queued', '1',
  'a code the pipeline does not know (a platform''s own) retries what carries it');
select is((select context ->> 'reason_code' from public.observability_events
            where event_type = 'ops.bookings_retried' order by id desc limit 1), 'free_text',
  'and the event does not repeat it');
select throws_ok($$select ops.retry_bookings('circuit_open', 'ana', null)$$, 'AS005', null, 'and the time is required');
select throws_ok($$select ops.retry_bookings('circuit_open', 'ana', now(), null, 0)$$, 'AS005',
  'p_limit must be between 1 and 1000', 'and a batch of at least one, at most 1000');

-- Every ops call on a booking leaves an event; release_stuck leaves a worker's live lease alone.
select is((select context from public.observability_events where booking_id = :'ahead' and event_type = 'ops.cancel'),
  '{"from_state": "created"}'::jsonb, 'a cancellation by ops is an ops.cancel event, without the operator''s words');
select tests.create_booking(:'rid', 2, '2030-04-06 19:00+00') as again \gset
select tests.force_state(:'again', 'manual_review', 'no_table_fits: test');
select ops.retry_booking(:'again', 'ana') is not null as retried \gset
select is((select context from public.observability_events where booking_id = :'again' and event_type = 'ops.retry'),
  '{"review_reason": "no_table_fits"}'::jsonb, 'a retry is an ops.retry event with the reason it was in review for');
select tests.create_booking(:'rid', 2, '2030-04-06 20:00+00') as noted \gset
select tests.force_state(:'noted', 'manual_review', 'call Maria Garcia back about the terrace');
select ops.retry_booking(:'noted', 'ana') is not null as retried_noted \gset
select is((select context from public.observability_events where booking_id = :'noted' and event_type = 'ops.retry'),
  '{"review_reason": "free_text"}'::jsonb, 'an operator''s own words for the review stay out of the event');
select public.assignment_begin(:'again') ->> 'outcome' as began \gset
alter table public.bookings disable trigger touch_updated_at;
update public.bookings set updated_at = now() - interval '10 minutes' where id = :'again';
alter table public.bookings enable trigger touch_updated_at;
select ops.release_stuck(5, 'ana') is not null as released \gset
select is((select array[assignment_state, (lease_token is not null)::text] from public.bookings where id = :'again'),
  array['assignment_in_progress', 'true'], 'a booking whose worker still holds its lease is not released');

-- The review queue suggests what an operator can take: nothing outside service hours, and a small table that
-- joins two large ones (20261210070000).
select tests.create_restaurant('Bridge') as bid \gset
select tests.add_table(:'bid', 'W1', 4) as w1 \gset
select tests.add_table(:'bid', 'W2', 2) as w2 \gset
select tests.add_table(:'bid', 'W3', 4) as w3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select :'bid', least(a, b), greatest(a, b) from (values (:'w1'::uuid, :'w2'::uuid), (:'w2', :'w3')) v(a, b);
select tests.create_booking(:'bid', 8, '2030-04-07 19:00+00') as eight \gset
select tests.force_state(:'eight', 'manual_review', 'no_table_fits: test');
select is((select free_tables_that_fit from ops.manual_review_queue(:'bid') where booking_id = :'eight'),
  '[["W1", "W2", "W3"]]'::jsonb, 'eight are offered the row of 4 + 2 + 4, the 2-top joining the others');
select tests.create_booking(:'bid', 2, '2030-04-07 22:30+00') as late \gset
select tests.force_state(:'late', 'manual_review', 'outside_service_hours: test');
select is((select free_tables_that_fit from ops.manual_review_queue(:'bid') where booking_id = :'late'), '[]'::jsonb,
  'a booking outside service hours is offered no tables, which assign_tables would refuse');

-- Health raises dead messages only while an operator can still send them.
update public.notification_outbox set status = 'sent', sent_at = now(), lease_expires_at = null, dead_because = null where status <> 'sent';
select tests.create_booking(:'rid', 2, '2030-04-02 19:00+00') as future \gset
update public.bookings set customer_email = 'guest@example.com' where id = :'future';
select ops.assign_tables(:'future', array['R2'], 'ana') ->> 'outcome' as confirmed \gset
update public.notification_outbox set status = 'dead', sent_at = null where booking_id = :'future';
select is(ops.health() -> 'notifications' -> 'dead_resendable', '1'::jsonb, 'a dead confirmation of a booking ahead can be resent');
select ok(ops.health() -> 'problems' ? 'dead notifications about bookings still ahead: once the sender works, ops.resend_dead_messages queues them again',
  'and health says so');
update public.bookings set start_at = now() - interval '3 hours' where id = :'future';
select is((ops.health() -> 'notifications' ->> 'dead')::int >= 1 and (ops.health() -> 'notifications' ->> 'dead_resendable')::int = 0,
  true, 'once the booking has begun the message is still counted dead, but there is nothing to resend');
select ok(not exists (select 1 from jsonb_array_elements_text(ops.health() -> 'problems') p where p like 'dead notifications%'),
  'and health no longer raises it');

-- Health raises the rollout plan's rollback triggers. Twenty bookings made (so to speak) ten days ahead, so no other
-- test's bookings share it.
select tests.create_restaurant('Rollback') as kid \gset
create temp table hour_ahead as select tests.create_booking(:'kid', 2, '2030-04-05 19:00+00') as id from generate_series(1, 20);
update public.bookings set created_at = now() + interval '10 days' where id in (select id from hour_ahead);
select tests.force_state(id, 'manual_review', 'no_table_fits: test') from (select id from hour_ahead limit 2) two;
select ok(not (ops.health(now() + interval '10 days 30 minutes') -> 'problems') ? 'manual review above 10 % of the last hour''s bookings (the rollout plan''s rollback trigger)',
  'two of twenty in review: 10 %, not above');
select tests.force_state(id, 'manual_review', 'no_table_fits: test')
  from (select id from hour_ahead h where not exists (select 1 from public.bookings b where b.id = h.id and b.assignment_state = 'manual_review') limit 1) one;
select ok((ops.health(now() + interval '10 days 30 minutes') -> 'problems') ? 'manual review above 10 % of the last hour''s bookings (the rollout plan''s rollback trigger)',
  'three of twenty: above 10 %, raised');
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'kid', 'open', 5, now() + interval '10 days 20 minutes');
select ok((ops.health(now() + interval '10 days 30 minutes') -> 'problems') ? 'a circuit breaker has been open for more than 5 minutes (the rollout plan''s rollback trigger)',
  'a breaker open for ten minutes is raised');

-- A rollout percentage with the default mode v3 chooses nothing, and says so.
select ops.set_default_mode('v3', 'ana', 'fresh install') is not null as fresh \gset
select alike(ops.set_rollout_percentage(10, 'ana', 'test') ->> 'note', 'the default mode is v3, so the restaurants outside the rollout run v3 too%',
  'a percentage under the default mode v3 comes with a note');
select ops.set_default_mode('legacy', 'ana', 'baseline') is not null as baseline \gset
select ok(not ops.set_rollout_percentage(10, 'ana', 'test') ? 'note', 'under legacy it means what it says');

-- The kill switch only lowers: v3 and shadow become legacy, off stays off.
select ops.set_rollout_percentage(0, 'ana', 'test') is not null as pct \gset
select ops.set_default_mode('off', 'ana', 'paused everywhere') is not null as paused \gset
select ops.set_kill_switch(true, 'ana', 'v3 misbehaves') is not null as killed \gset
select is((select mode from private.effective_mode(:'rid')), 'off', 'a restaurant paused by the default mode stays off');
select tests.create_restaurant('Override') as oid \gset
select ops.set_restaurant_mode(:'oid', 'v3', 'ana', 'pilot') is not null as piloted \gset
select is((select array[mode, reason] from private.effective_mode(:'oid')),
  array['legacy', 'kill switch (its reason: ops.rollout_status())'],
  'a restaurant on v3 falls back to legacy, for a reason that names the switch, not what the operator typed');
select ops.set_restaurant_mode(:'oid', 'off', 'ana', 'closed') is not null as closed \gset
select is((select array[mode, reason] from private.effective_mode(:'oid')), array['off', 'restaurant override'],
  'one switched off stays off');

select * from finish();
rollback;
