-- A floor-plan re-check that cannot finish says so, and one booking it cannot change holds back no other
-- (20261227220000). The re-check runs as the sweeper does; health is read as monitoring does, through the Data
-- API's role.
begin;
select plan(22);

select tests.create_restaurant('Recheck stuck') as rid \gset
select tests.add_table(:'rid', 'R1', 4) as r1 \gset
select tests.add_table(:'rid', 'R2', 4) as r2 \gset
create function pg_temp.recheck(p_restaurant uuid) returns jsonb language sql as $$
  select private.recheck_floor_plans(clock_timestamp() + interval '1 minute', interval '10 seconds', p_restaurant);
$$;
select tests.create_booking(:'rid', 2, '2030-11-04 18:00+00') as bad \gset
select tests.create_booking(:'rid', 2, '2030-11-04 21:00+00') as good \gset
select ops.assign_tables(:'bad', array['R1'], 'ana') ->> 'outcome' as seated_bad \gset
select ops.assign_tables(:'good', array['R1'], 'ana') ->> 'outcome' as seated_good \gset

-- The earlier booking cannot be changed (a platform's trigger refuses it, as in test 64).
create function tests.refuse_replans() returns trigger language plpgsql as $$
begin
  if new.id = current_setting('tests.refused')::uuid and new.assignment_state <> old.assignment_state then
    raise exception 'this row cannot be changed';
  end if;
  return new;
end $$;
select set_config('tests.refused', :'bad', true) is not null as refused \gset
-- As in 64: the strongest lock first, so the running stack waits for this transaction instead of deadlocking.
lock table public.bookings in access exclusive mode;
create trigger refuse_replans before update on public.bookings for each row execute function tests.refuse_replans();

update public.restaurant_tables set out_of_service = true where id = :'r1';
select pg_temp.recheck(:'rid') as result \gset
select is(array[(:'result'::jsonb ->> 'replanned')::int, (:'result'::jsonb ->> 'bookings_failed')::int], array[1, 1],
  'the re-check sends back the booking it can change, and counts the one it cannot');
select is((select assignment_state from public.bookings where id = :'good'), 'assignment_pending',
  'the later booking is planned again, not held back by the earlier one');
select is((select assignment_state from public.bookings where id = :'bad'), 'confirmed', 'the refused one is as it was');
select is((select context from public.observability_events where booking_id = :'bad' and event_type = 'floor_plan.replan_failed'),
  '{"reason": "replan_failed", "sqlstate": "P0001"}'::jsonb, 'recorded with its cause');
select is((select (context ->> 'bookings_failed')::int from public.observability_events
            where restaurant_id = :'rid' and event_type = 'floor_plan.recheck_failed'), 1,
  'and the re-check as failed for it');
select ok((select failures = 1 and changed_at > clock_timestamp() from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'the restaurant stays marked, tried again later');

-- Tried again while it still fails: counted, not recorded again.
update private.floor_plan_rechecks set changed_at = clock_timestamp() - interval '1 minute' where restaurant_id = :'rid';
select pg_temp.recheck(:'rid') as again \gset
-- (Counted in a statement of its own: a statement does not see what a function it calls writes.)
select is(array[(:'again'::jsonb ->> 'bookings_failed')::int,
                (select count(*)::int from public.observability_events
                  where booking_id = :'bad' and event_type = 'floor_plan.replan_failed')], array[1, 1],
  'a booking that fails again is counted, and its failure recorded once while the restaurant waits');

-- A later wait (a change after this wait was over) records the failure again: an operator who cleared the first
-- is told of the second.
update private.floor_plan_rechecks set pending_since = clock_timestamp(), changed_at = clock_timestamp() - interval '1 minute'
 where restaurant_id = :'rid';
select is((pg_temp.recheck(:'rid') ->> 'bookings_failed')::int, 1, 'the pass of the later wait counts it failed');
select is((select count(*)::int from public.observability_events
            where booking_id = :'bad' and event_type = 'floor_plan.replan_failed'), 2,
  'a later wait for a re-check that fails for the booking records its failure again');

-- However often a re-check has failed, its next try is at most an hour away.
select private.back_off_recheck(:'rid', 30, '{}'::jsonb);
select ok((select changed_at between clock_timestamp() + interval '59 minutes' and clock_timestamp() + interval '1 hour'
             from private.floor_plan_rechecks where restaurant_id = :'rid'),
  'after thirty failures the next try is an hour away, not more');

-- The next try, once the trigger is gone, finishes.
drop trigger refuse_replans on public.bookings;
update private.floor_plan_rechecks set changed_at = clock_timestamp() - interval '1 minute' where restaurant_id = :'rid';
select is((pg_temp.recheck(:'rid') ->> 'replanned')::int, 1, 'the next try sends it back');
select ok(not exists (select 1 from private.floor_plan_rechecks where restaurant_id = :'rid'), 'and the mark is gone');

-- A pass sends back 20 at most (each takes subtransactions; over 64 committed in one transaction slow every
-- snapshot in the cluster), and the next pass is due at once for the rest.
select tests.create_restaurant('Recheck many') as many \gset
select tests.add_table(:'many', 'M1', 4) as m1 \gset
select ops.assign_tables(tests.create_booking(:'many', 2, '2030-12-01 18:00+00'::timestamptz + make_interval(days => d)),
                         array['M1'], 'ana') ->> 'outcome'
  from generate_series(0, 54) d \g /dev/null
update public.restaurant_tables set out_of_service = true where id = :'m1';
select pg_temp.recheck(:'many') as first_pass \gset
select is(array[(:'first_pass'::jsonb ->> 'replanned')::int, (:'first_pass'::jsonb ->> 'bookings_left')::int], array[20, 35],
  '55 broken bookings: 20 sent back in the first pass, 35 left');
select ok((select changed_at <= clock_timestamp() - interval '10 seconds' from private.floor_plan_rechecks
            where restaurant_id = :'many'), 'the next pass is due at once');
select is(array[(pg_temp.recheck(:'many') ->> 'replanned')::int, (pg_temp.recheck(:'many') ->> 'replanned')::int],
  array[20, 15], 'the next passes send back the rest');
select ok(not exists (select 1 from private.floor_plan_rechecks where restaurant_id = :'many'), 'and settle the mark');

-- What the second look takes for written since the scan: ids at or after the snapshot's oldest running one, told
-- apart across the 32-bit counter's wraparound (an old row, a frozen one, one of the epoch before).
select is(array[private.may_be_unseen_by('100'::xid, '1000:1005:'::pg_snapshot),
                private.may_be_unseen_by('2'::xid, '1000:1005:'::pg_snapshot),
                private.may_be_unseen_by('1000'::xid, '1000:1005:1000'::pg_snapshot),
                private.may_be_unseen_by('1003'::xid, '1000:1005:1000'::pg_snapshot),
                private.may_be_unseen_by('2000'::xid, '1000:1005:'::pg_snapshot),
                private.may_be_unseen_by('5'::xid, '4294967290:4294967300:'::pg_snapshot),
                private.may_be_unseen_by('4294967295'::xid, '4294967300:4294967310:'::pg_snapshot)],
  array[false, false, true, true, true, true, false],
  'older and frozen rows are seen; a running one, a subtransaction unlisted, a later one and one past the wrap are not');

-- A re-check that has waited over 15 minutes is a problem in health, with its age.
select tests.create_restaurant('Recheck waiting') as waiting \gset
select tests.add_table(:'waiting', 'W1', 4) as w1 \gset
update public.restaurant_tables set capacity = 6, max_party_size = 6 where id = :'w1';
-- Only this test's marks (others the integration tests left behind are not this test's to judge).
delete from private.floor_plan_rechecks where restaurant_id <> :'waiting';
set local role service_role;
select is((ops.health() -> 'floor_plan_recheck_pending' ->> 'restaurants')::int, 0, 'a re-check just marked is no problem');
reset role;
update private.floor_plan_rechecks set pending_since = now() - interval '10 minutes' where restaurant_id = :'waiting';
set local role service_role;
select is((ops.health() -> 'floor_plan_recheck_pending' ->> 'restaurants')::int, 0,
  'ten minutes is no problem yet (a large re-plan takes minutes on hosted Supabase)');
reset role;
update private.floor_plan_rechecks set pending_since = now() - interval '20 minutes' where restaurant_id = :'waiting';
set local role service_role;
select ops.health() as health \gset
reset role;
select is((:'health'::jsonb -> 'floor_plan_recheck_pending' ->> 'restaurants')::int, 1, 'one waiting 20 minutes is counted');
select ok((:'health'::jsonb -> 'floor_plan_recheck_pending' ->> 'oldest_seconds')::int >= 1200, 'with its age');
select ok(exists (select 1 from jsonb_array_elements_text(:'health'::jsonb -> 'problems') p
                   where p like 'the floor-plan re-check of 1 restaurants has waited %'), 'and named as a problem');

select * from finish();
rollback;
