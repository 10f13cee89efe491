-- What a caller passes can neither move the pipeline's clock nor put its words where they outlive the
-- booking (20261209010000, 20261209020000).
begin;
select plan(31);

select tests.create_restaurant('Clockwork') as rid \gset
select tests.add_table(:'rid', 'C1', 4) as c1 \gset
select tests.create_booking(:'rid', 2, '2030-02-04 19:00+00') as waiting \gset
select tests.create_booking(:'rid', 2, '2030-02-04 21:00+00') as seated \gset

-- Through the Data API the clock is the database's.
set local role service_role;
select throws_ok(format('select public.assignment_claim_due(1000, %L, 10000, %L)', :'rid', '9999-01-01'), 'AS005',
  'p_now is the database''s clock: callers through the Data API leave it out',
  'service_role cannot claim as of the year 9999');
select is(public.assignment_claim_due(10, :'rid'), array[]::uuid[], 'a claim that leaves p_now out runs (nothing is due yet)');
select throws_ok(format('select public.assignment_begin(%L, %L, null, null, %L)', :'waiting', 'api', now() + interval '1 hour'),
  'AS005', null, 'nor begin an hour ahead');
select throws_ok(format('select public.assignment_commit(%L, %L, array[%L]::uuid[], %L, null, %L, null, null, %L)',
                        :'waiting', gen_random_uuid(), :'c1', 'optimal_fit', '{}', now() - interval '1 day'),
  'AS005', null, 'nor commit a day behind');
select throws_ok(format('select public.assignment_fail(%L, %L, %L, %L, null, %L, null, %L)',
                        :'waiting', gen_random_uuid(), 'error', 'error: x', '{}', '2030-01-01'),
  'AS005', null, 'nor fail in 2030');
select throws_ok($$select * from public.notification_claim(1, 60000, '2000-01-01')$$, 'AS005', null,
  'nor claim messages as of 2000');
select throws_ok($$select public.notification_complete(1, gen_random_uuid(), true, null, '2000-01-01')$$, 'AS005', null,
  'nor complete one then');
-- Lease lengths are bounded for everyone.
select throws_ok($$select * from public.notification_claim(1, null)$$, 'AS005',
  'p_lease_ms must be between 1000 and 3600000 milliseconds, not null', 'a message lease cannot be null');
select throws_ok($$select * from public.notification_claim(1, -5)$$, 'AS005', null, 'or negative');
select throws_ok($$select * from public.notification_claim(1, 500)$$, 'AS005', null,
  'and through the Data API not under a second');
select throws_ok(format('select public.assignment_claim_due(10, %L, 0)', :'rid'), 'AS005', null,
  'a claim hides its bookings for at least a second');
select throws_ok(format('select public.assignment_claim_due(10, %L, 86400000)', :'rid'), 'AS005', null,
  'and for at most ten minutes');
reset role;
select ok(not has_function_privilege('service_role', 'private.assignment_claim_due_unchecked(integer, uuid, integer, timestamptz)', 'execute')
          and not has_function_privilege('service_role', 'private.notification_claim_unchecked(integer, integer, timestamptz)', 'execute'),
  'the unchecked bodies are not callable by service_role');

-- The database owner keeps the clock for tests, but no null clock.
select is((select array_agg(x order by x) from unnest(public.assignment_claim_due(10, :'rid', 10000, now() + interval '1 hour')) x),
  (select array_agg(x order by x) from unnest(array[:'waiting', :'seated']::uuid[]) x), 'the owner claims an hour ahead');
select throws_ok(format('select public.assignment_claim_due(10, %L, 10000, null)', :'rid'), 'AS005', null,
  'nobody passes a null clock');
select lives_ok($$select * from public.notification_claim(1, 1)$$,
  'the owner may lease for a millisecond (tests let a dispatcher die at once)');

-- A breaker opened "later than now" waits one cool-down instead of failing every begin.
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now() + interval '100 years');
select is(public.assignment_begin(:'waiting') - 'state' - 'lease_token',
  jsonb_build_object('outcome', 'circuit_open', 'delay_ms', (private.settings_for(:'rid')).breaker_cooldown_ms),
  'a breaker opened in the future defers by one cool-down, no overflow');
delete from private.circuit_breakers where restaurant_id = :'rid';

-- What operators type into the settings audit is scrubbed, whichever call writes it.
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now());
select ops.reset_circuit_breaker(:'rid', 'ana@example.com', 'call +44 20 7946 0958 when it breaks') is not null as reset \gset
select is((select array[actor, reason] from public.pipeline_settings_audit where setting = 'circuit_breaker' order by id desc limit 1),
  array['[email]', 'call [number] when it breaks'], 'reset_circuit_breaker''s actor and reason are stored scrubbed');
insert into public.pipeline_settings_audit (actor, database_role, scope, setting, reason)
values ('bo@example.org', 'postgres', 'global', 'test', 'reach me on 555 0100 2233');
select is((select array[actor, reason] from public.pipeline_settings_audit where setting = 'test'),
  array['[email]', 'reach me on [number]'], 'and so is a row written directly');

-- Who placed tables by hand is scrubbed too; the coordinator's own rows keep its name.
select tests.create_booking(:'rid', 2, '2030-02-05 19:00+00') as by_hand \gset
select tests.force_state(:'by_hand', 'manual_review', 'no_table_fits: test');
select ops.assign_tables(:'by_hand', array['C1'], 'dee@example.com') is not null as assigned \gset
select is((select assigned_by from public.booking_table_assignments where booking_id = :'by_hand' and released_at is null),
  '[email]', 'ops.assign_tables stores the operator scrubbed');
select tests.create_booking(:'rid', 2, '2030-02-06 19:00+00') as auto \gset
select public.assignment_begin(:'auto') ->> 'lease_token' as lease \gset
select public.assignment_commit(:'auto', :'lease', array[:'c1']::uuid[], 'optimal_fit') is not null as committed \gset
select is((select (source, assigned_by)::text from public.booking_table_assignments where booking_id = :'auto'),
  '(auto,coordinator:optimal_fit)', 'the coordinator''s rows are written as they were');

-- A shadow comparison's error is scrubbed before it is cut, so a cut address is not kept.
select private.record_shadow(jsonb_populate_record(b, '{"assignment_mode": "shadow"}'),
  jsonb_build_object('experiment', 'v3', 'primary_strategy', 'first_fit', 'candidate_strategy', 'scarcity_fit', 'primary_decision', 'assign',
                     'candidate_decision', 'error', 'primary_ms', 1, 'candidate_ms', 1, 'candidate_error', repeat('x', 490) || ' jane.doe@example.com'))
  from public.bookings b where b.id = :'auto';
select ok((select candidate_error from public.shadow_comparisons where booking_id = :'auto') !~ '@',
  'no part of the address survives the cut');

-- A transition event's metadata keeps tokens and says free_text for words; the history keeps it as given.
select tests.create_booking(:'rid', 2, '2030-02-07 19:00+00') as noted \gset
select public.transition_assignment_state(:'noted', 'manual_review', tests.version_of(:'noted'), 'call the guest',
  '{"note": "Maria Garcia, nut allergy", "code": "vip", "n": 3, "seen": true, "tables": ["T12", "Bar 1"],
    "nested": {"a": "two words", "at": "2030-02-07T19:00:00+00:00", "Maria Garcia": true}}') is not null as moved \gset
select is((select context -> 'metadata' from public.observability_events
            where booking_id = :'noted' and event_type = 'booking.assignment_state_transition' order by id desc limit 1),
  '{"note": "free_text", "code": "vip", "n": 3, "seen": true, "tables": ["T12", "free_text"],
    "nested": {"a": "free_text", "at": "2030-02-07T19:00:00+00:00", "free_text_keys": 1}}'::jsonb,
  'the event keeps codes, numbers, booleans and time stamps, says free_text for words and leaves out words as keys');
select is((select metadata ->> 'note' from public.booking_assignment_state_history
            where booking_id = :'noted' order by id desc limit 1),
  'Maria Garcia, nut allergy', 'the history, deleted with the booking, keeps what was given');
select is((select count(*)::int from public.observability_events where context::text ~ 'Maria'), 0,
  'no event holds the name');
-- The pipeline's own metadata is all tokens: its transitions go through untouched.
select is((select count(*)::int from public.observability_events
            where event_type = 'booking.assignment_state_transition' and (context -> 'metadata')::text ~ 'free_text'
              and restaurant_id = :'rid' and booking_id <> :'noted'), 0, 'no transition of the pipeline''s own says free_text');
select is((select context -> 'metadata' ->> 'trigger' from public.observability_events
            where booking_id = :'auto' and event_type = 'booking.assignment_state_transition'
              and context ->> 'to' = 'assignment_in_progress'), 'dispatch', 'its metadata arrives as written');
-- The trigger's WHEN clause spells the token pattern out: it must be the function's.
select ok(array_length(regexp_split_to_array(pg_get_triggerdef(t.oid), private.metadata_token_pattern(), 'q'), 1) = 3,
  'both checks of the trigger''s WHEN clause use private.metadata_token_pattern()')
  from pg_trigger t where t.tgname = 'transition_event_carries_the_code';
select ok(not private.jsonb_has_personal_data((select context from public.observability_events
            where booking_id = :'noted' and event_type = 'booking.assignment_state_transition' order by id desc limit 1)),
  'and the event passes the personal-data check');

-- service_role claims and completes messages through the checked functions (no clock passed). Messages of
-- other tests' bookings already waiting count as sent, so the claim reaches this one.
update public.notification_outbox set status = 'sent', sent_at = now()
 where status in ('pending', 'sending') and booking_id <> :'auto';
set local role service_role;
select id as mid, lease_token as mtoken from public.notification_claim(100, 60000) where booking_id = :'auto' \gset
select is(public.notification_complete(:mid, :'mtoken', true), 'sent', 'service_role claims and completes a message');
reset role;

-- A booking inserted through the Data API cannot be backdated into looking stuck (20261210090000).
set local role service_role;
insert into public.bookings (restaurant_id, party_size, start_at, updated_at)
values (:'rid', 2, '2030-02-05 19:00+00', now() - interval '1 hour') returning id as backdated \gset
reset role;
select is((select updated_at from public.bookings where id = :'backdated'), now(),
  'its updated_at is the insert''s time, whatever the client wrote');

select * from finish();
rollback;
