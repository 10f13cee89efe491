begin;
select plan(35);

create function pg_temp.breaker(r uuid) returns private.circuit_breakers language sql as
  $$ select * from private.circuit_breakers where restaurant_id = r $$;
create function pg_temp.lease(began text) returns uuid language sql as
  $$ select ((began::jsonb) ->> 'lease_token')::uuid $$;

-- ---------------------------------------------------------------------------------------------------
-- A rule that changes between begin and commit is a re-plan on a fresh snapshot, not an error.
select tests.create_restaurant('Changing Rules') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 2) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b) values (:'rid', least(:'t1'::uuid, :'t3'::uuid), greatest(:'t1'::uuid, :'t3'::uuid));

-- The party grows after the snapshot was taken.
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as grows \gset
select public.assignment_begin(:'grows') as grows_began \gset
select is((:'grows_began'::jsonb) #>> '{snapshot,booking,party_size}', '2', 'the engine plans for a party of 2');
update public.bookings set party_size = 6 where id = :'grows';
select public.assignment_commit(:'grows', pg_temp.lease(:'grows_began'), array[:'t1']::uuid[], 'test') as grows_commit \gset
select is((:'grows_commit'::jsonb) ->> 'outcome', 'conflict',
  'a plan broken by a party size raised after the snapshot is a conflict to re-plan, not an error');
select alike((:'grows_commit'::jsonb) ->> 'reason',
  'rule_changed: the booking or its tables changed after the snapshot was taken (party_size_out_of_range: table T1 seats 1–4, the party is 6)',
  'its reason names the cause and the rule');
select is((:'grows_commit'::jsonb) #>> '{snapshot,booking,party_size}', '6', 'with a fresh snapshot of the larger party');
select is((select context ->> 'cause' || '/' || (context ->> 'rule') from public.observability_events
            where booking_id = :'grows' and event_type = 'coordinator.commit_conflict'),
  'rule_changed/party_size_out_of_range', 'recorded as a commit conflict whose cause is a changed rule');
select is((select assignment_state from public.bookings where id = :'grows'), 'assignment_in_progress',
  'the attempt goes on under the same lease');
select is(pg_temp.breaker(:'rid'), null, 'and the breaker never heard of it');
-- The same plan again, on the fresh snapshot that already showed the party of 6: the engine's own bug.
select throws_like(format('select public.assignment_commit(%L, %L, array[%L]::uuid[], %L)', :'grows',
    pg_temp.lease(:'grows_began'), :'t1', 'test'),
  '%party_size_out_of_range%', 'a plan that breaks a rule on the snapshot it was given is still AS007');
select lives_ok(format('select public.assignment_commit(%L, %L, array[%L, %L]::uuid[], %L)', :'grows',
    pg_temp.lease(:'grows_began'), :'t1', :'t3', 'test'), 'a plan made for the new party size is committed');
select is((select assignment_state from public.bookings where id = :'grows'), 'confirmed', 'and confirmed');

-- A table is taken out of service after the snapshot was taken.
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as lunch \gset
select public.assignment_begin(:'lunch') as lunch_began \gset
update public.restaurant_tables set out_of_service = true where id = :'t2';
select public.assignment_commit(:'lunch', pg_temp.lease(:'lunch_began'), array[:'t2']::uuid[], 'test') as lunch_commit \gset
select is((:'lunch_commit'::jsonb) ->> 'outcome', 'conflict', 'a table taken out of service meanwhile is a re-plan');
select alike((:'lunch_commit'::jsonb) ->> 'reason', 'rule_changed: %table_unavailable: T2 is inactive or out of service%',
  'named for the table');
select ok(not ((:'lunch_commit'::jsonb) -> 'snapshot' -> 'tables') @> pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('id', :'t2')),
  'the fresh snapshot no longer offers the table');
select is(pg_temp.breaker(:'rid'), null, 'the breaker is untouched');

-- Nothing changed: a plan that breaks a rule is the engine's bug, as before.
select tests.create_booking(:'rid', 4, '2030-01-08 12:00+00') as plain \gset
select public.assignment_begin(:'plain') as plain_began \gset
select throws_ok(format('select public.assignment_commit(%L, %L, array[%L]::uuid[], %L)', :'plain',
    pg_temp.lease(:'plain_began'), :'t2', 'test'),
  'AS007', null, 'an unchanged floor plan and booking leave a rule-breaking plan an error (AS007)');

-- ---------------------------------------------------------------------------------------------------
-- One booking's data does not open the breaker for the others; infrastructure errors do.
select tests.create_restaurant('Odd Rows') as odd \gset
select tests.add_table(:'odd', 'T1', 4);
create function pg_temp.fail_one(r uuid, kind text, reason text) returns jsonb language plpgsql as $$
declare
  b uuid := tests.create_booking(r, 2, '2030-01-07 19:00+00');
  began jsonb := public.assignment_begin(b);
begin
  if began ->> 'outcome' <> 'ready' then
    return began;
  end if;
  return public.assignment_fail(b, (began ->> 'lease_token')::uuid, kind, reason);
end $$;
select pg_temp.fail_one(:'odd', 'invalid_data', 'invalid_snapshot: the snapshot does not parse (tables.0.id: Invalid)') as first_odd \gset
select is((:'first_odd'::jsonb) ->> 'outcome', 'retry', 'a snapshot that does not parse is retried');
select alike((:'first_odd'::jsonb) ->> 'reason', 'invalid_snapshot: %', 'under a reason that names the cause');
select is((select (context ->> 'counts_toward_breaker')::boolean from public.observability_events
            where restaurant_id = :'odd' and event_type = 'coordinator.error'), false,
  'it is a coordinator.error event that says it does not count toward the breaker');
select pg_temp.fail_one(:'odd', 'invalid_data', 'invalid_snapshot: the snapshot does not parse') from generate_series(1, 9);
select is(coalesce((pg_temp.breaker(:'odd')).consecutive_failures, 0), 0,
  'ten invalid snapshots in a row count nothing toward the breaker');
select is(coalesce((pg_temp.breaker(:'odd')).state, 'closed'), 'closed', 'which stays closed');
select is(pg_temp.fail_one(:'odd', 'error', 'error: connection reset') ->> 'outcome', 'retry',
  'an infrastructure error still ends in a retry');
select pg_temp.fail_one(:'odd', 'error', 'error: upstream answered 503') from generate_series(1, 3);
select pg_temp.fail_one(:'odd', 'invalid_data', 'invalid_snapshot: the snapshot does not parse');
select is((pg_temp.breaker(:'odd')).consecutive_failures, 4, 'an invalid snapshot between errors neither counts nor resets the count');
select pg_temp.fail_one(:'odd', 'error', 'error: timed out');
select is((pg_temp.breaker(:'odd')).state, 'open', 'five errors in a row open the breaker');
select is(pg_temp.fail_one(:'odd', 'invalid_data', 'invalid_snapshot: x') ->> 'outcome', 'circuit_open',
  'which then defers every booking of the restaurant');

-- A probe whose own data is odd hands the probe on instead of holding the breaker half-open.
update private.circuit_breakers set opened_at = now() - interval '16 seconds' where restaurant_id = :'odd';
select tests.create_booking(:'odd', 2, '2030-01-09 19:00+00') as probe \gset
select tests.create_booking(:'odd', 2, '2030-01-09 19:00+00') as next \gset
select public.assignment_begin(:'probe') as probe_began \gset
select is((pg_temp.breaker(:'odd')).probe_booking_id, :'probe'::uuid, 'after the cooldown one booking probes');
select public.assignment_fail(:'probe', pg_temp.lease(:'probe_began'), 'invalid_data', 'invalid_snapshot: x');
select is(((pg_temp.breaker(:'odd')).state, (pg_temp.breaker(:'odd')).probe_booking_id), ('half_open'::text, null::uuid),
  'its invalid snapshot neither closes nor re-opens the breaker, and frees the probe');
select is(public.assignment_begin(:'next') ->> 'outcome', 'ready', 'so the next booking probes at once');

select throws_ok(format('select public.assignment_fail(%L, %L, %L, %L)', :'next', gen_random_uuid(), 'bad_row', 'x'),
  'AS005', null, 'an unknown kind is refused');

-- ---------------------------------------------------------------------------------------------------
-- An operator's words stay with the booking: no event carries them.
select tests.create_booking(:'rid', 2, '2030-01-10 19:00+00') as guest \gset
select lives_ok(format('select ops.cancel_booking(%L, %L, %L)', :'guest',
    'Maria Garcia called, nut allergy, lives at 12 Rose Lane', 'ana'),
  'ops.cancel_booking takes an operator''s note that names the guest');
select is((select reason from public.booking_assignment_state_history where booking_id = :'guest' and to_state = 'cancelled'),
  'Maria Garcia called, nut allergy, lives at 12 Rose Lane', 'the booking''s history keeps the note');
select is((select context - 'metadata' from public.observability_events
            where booking_id = :'guest' and event_type = 'booking.assignment_state_transition' and context ->> 'to' = 'cancelled'),
  '{"from": "created", "to": "cancelled", "version": 2, "reason": "free_text", "reason_chars": 55}'::jsonb,
  'the cancellation''s event carries free_text and the length, none of the words');

select tests.create_booking(:'rid', 2, '2030-01-10 12:00+00') as regular \gset
select ops.assign_tables(:'regular', array['T1'], 'ana', 'regular, Maria Garcia asks for the window');
select tests.create_booking(:'rid', 2, '2030-01-11 19:00+00') as chair \gset
select public.transition_assignment_state(:'chair', 'manual_review', 1, 'Maria Garcia wants a high chair, 12 Rose Lane');
select is((select count(*)::int from public.booking_assignment_state_history h
            where h.reason like '%Maria Garcia%' and h.created_at = now()), 5,
  'every step that took the words keeps them in the booking''s history');
select is((select array_agg(distinct context ->> 'reason' order by context ->> 'reason') from public.observability_events
            where event_type = 'booking.assignment_state_transition' and created_at = now()
              and booking_id in (select booking_id from public.booking_assignment_state_history where reason like '%Maria%')),
  array['free_text', 'ops_assignment'], 'their events carry a reason code only');
select is((select count(*)::int from public.observability_events
            where created_at = now() and context::text ~* 'maria|garcia|rose lane|allerg|high chair'), 0,
  'the sentence never reaches observability_events');
delete from public.bookings where id = :'guest';
select is((select count(*)::int from public.booking_assignment_state_history where booking_id = :'guest'), 0,
  'and the note goes with the booking when it is deleted');

select * from finish();
rollback;
