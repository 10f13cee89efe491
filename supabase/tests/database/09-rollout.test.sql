begin;
select plan(40);

-- Audit rows other runs left behind are not this file's: it counts only rows after this mark.
select coalesce(max(id), 0) as audit_mark from public.pipeline_settings_audit \gset

-- 200 restaurants with fixed ids, so the rollout buckets are the same on every run.
insert into public.restaurants (id, name)
select md5('rollout-' || i)::uuid, 'Rollout ' || i from generate_series(1, 200) i;
create temp view fleet as select id from public.restaurants where name like 'Rollout %';

select is((select count(*)::int from fleet f, private.effective_mode(f.id) m where m.mode = 'v3'), 200,
  'a fresh install runs v3 everywhere (default v3 at 100%)');

select ops.set_default_mode('legacy', 'ana', 'phase 1 baseline');
select ops.set_rollout_percentage(0, 'ana', 'start from zero');
select is((select count(*)::int from fleet f, private.effective_mode(f.id) m where m.mode = 'legacy'), 200,
  'at 0% every restaurant takes the default mode');

select ops.set_rollout_percentage(10, 'ana', 'phase 5a');
create temp table at10 as select f.id from fleet f, private.effective_mode(f.id) m where m.mode = 'v3';
select ok((select count(*) from at10) between 10 and 32, format('about 10%% of 200 are in at 10%% (%s)', (select count(*) from at10)));
select ops.set_rollout_percentage(50, 'ana', 'phase 5b');
create temp table at50 as select f.id from fleet f, private.effective_mode(f.id) m where m.mode = 'v3';
select ok((select count(*) from at50) between 80 and 120, format('about half are in at 50%% (%s)', (select count(*) from at50)));
select is((select count(*)::int from at10 where id not in (select id from at50)), 0,
  'raising the percentage keeps every restaurant that was already in');
select is((select count(*)::int from fleet f where private.rollout_bucket(f.id, 'assignment-pipeline-v3') < 10),
  (select count(*)::int from at10), 'membership is exactly bucket < percentage');

-- Overrides, kill switch, off.
select id as r1 from at10 limit 1 \gset
select id as r2 from fleet where id not in (select id from at50) limit 1 \gset
select ops.set_restaurant_mode(:'r2', 'shadow', 'ana', 'shadow one restaurant');
select is((select mode from private.effective_mode(:'r2')), 'shadow', 'a restaurant override wins over the rollout');
select ops.set_kill_switch(true, 'ana', 'incident 42');
select is((select mode from private.effective_mode(:'r1')), 'legacy', 'the kill switch sends v3 restaurants to legacy');
select is((select mode from private.effective_mode(:'r2')), 'legacy', 'and overrides too');
select ops.set_restaurant_mode(:'r2', 'off', 'ana', 'closed for refurbishment');
select is((select mode from private.effective_mode(:'r2')), 'off', 'but a restaurant switched off stays off');
select ops.set_kill_switch(false, 'ana', 'incident resolved');
select is((select mode from private.effective_mode(:'r1')), 'v3', 'releasing the kill switch restores the rollout');
select ops.set_restaurant_mode(:'r2', null, 'ana', 'back to the rollout');
select is((select mode from private.effective_mode(:'r2')), 'legacy', 'clearing the override hands the restaurant back to the rollout');

-- Every change is audited with who, when, old → new and why.
select is((select count(*)::int from public.pipeline_settings_audit
            where setting = 'rollout_percentage' and id > :audit_mark), 3,
  'three percentage changes were recorded');
select is((select array[old_value::text, new_value::text, actor, reason] from public.pipeline_settings_audit
            where setting = 'rollout_percentage' and id > :audit_mark order by id limit 1),
  array['100', '0', 'ana', 'start from zero'], 'with the old and new value, the actor and the reason');
update private.pipeline_settings set max_attempts = 6;
select is((select array[actor, database_role] from public.pipeline_settings_audit
            where setting = 'max_attempts' and id > :audit_mark),
  array['postgres', 'postgres'], 'a direct UPDATE is audited too, under the login role');

-- The audit trigger runs as its owner (security definer), so it must name the caller, not itself: a
-- change made by another login is that login's; under SET ROLE the login acts as the role.
create role audit_probe_editor bypassrls;
grant usage on schema private to audit_probe_editor;
grant update on private.pipeline_settings to audit_probe_editor;
set session authorization audit_probe_editor;
update private.pipeline_settings set max_attempts = 7;
reset session authorization;
select is((select array[actor, database_role] from public.pipeline_settings_audit
            where setting = 'max_attempts' order by id desc limit 1),
  array['audit_probe_editor', 'audit_probe_editor'], 'another login''s change is attributed to that login, not to the trigger''s owner');
set role audit_probe_editor;
update private.pipeline_settings set max_attempts = 8;
reset role;
select is((select array[actor, database_role] from public.pipeline_settings_audit
            where setting = 'max_attempts' order by id desc limit 1),
  array['postgres', 'audit_probe_editor'], 'under SET ROLE the login is the actor and the role is recorded');
set role service_role;
select ops.set_shadow_candidate('aa', 'ana', 'through the API');
reset role;
select is((select array[actor, database_role, reason] from public.pipeline_settings_audit
            where setting = 'shadow_candidate' order by id desc limit 1),
  array['ana', 'service_role', 'through the API'], 'an ops call names its actor, and the role it came in as');

-- Bad input is refused with a clear error and changes nothing.
select throws_ok($$select ops.set_rollout_percentage(101, 'ana')$$, 'AS005', 'percentage must be between 0 and 100',
  'percentages stay within 0–100');
select throws_ok($$select ops.set_default_mode('turbo', 'ana')$$, 'AS005', null, 'unknown modes are refused');
select throws_ok($$select ops.set_kill_switch(true, 'ana')$$, 'AS005', 'give a reason when pulling the kill switch',
  'the kill switch needs a reason');
select throws_ok($$select ops.set_rollout_percentage(20, '  ')$$, 'AS005', null, 'every change needs an actor');
select throws_ok($$select ops.set_max_parallel(0, 'ana')$$, 'AS005', 'max_parallel must be between 1 and 20',
  'max_parallel stays within 1–20');
select is((select rollout_percentage from private.rollout_settings), 50, 'refused changes left the settings alone');

-- The deployment's feature flags cap the mode Postgres decides (p_mode_ceiling), never raise it.
select ops.set_max_parallel(10, 'ana', null, 'room for the tests below');
select tests.create_restaurant('Ceiling') as rc \gset
select tests.add_table(:'rc', 'C1', 4);
create temp table ceiling_cases (n int, ceiling text, override text, expected text);
insert into ceiling_cases values
  (1, 'legacy', 'v3', 'legacy'), (2, 'shadow', 'v3', 'shadow'), (3, null, 'v3', 'v3'),
  (4, 'legacy', 'shadow', 'legacy'), (5, 'shadow', 'shadow', 'shadow'), (6, 'shadow', 'legacy', 'legacy'),
  (7, 'legacy', 'off', 'manual_review');
create temp table ceiling_results (n int, expected text, got text);
do $$
declare
  c record;
  rid uuid := (select id from public.restaurants where name = 'Ceiling');
  booking uuid;
  began jsonb;
begin
  for c in select * from ceiling_cases order by n loop
    perform ops.set_restaurant_mode(rid, c.override, 'ana', 'ceiling test');
    booking := tests.create_booking(rid, 2, '2030-01-07 11:00+00'::timestamptz + make_interval(hours => c.n));
    began := public.assignment_begin(booking, p_mode_ceiling => c.ceiling);
    insert into ceiling_results values (c.n, c.expected, coalesce(began ->> 'mode', began ->> 'outcome'));
  end loop;
end $$;
select results_eq($$select got from ceiling_results order by n$$, $$select expected from ceiling_results order by n$$,
  'legacy and shadow ceilings lower v3 and shadow, never raise legacy, and leave off alone');
select is((select count(*)::int from public.bookings b where b.restaurant_id = :'rc' and b.assignment_mode = 'legacy'), 3,
  'the capped mode is what the booking records');
select throws_ok(format($$select public.assignment_begin(%L, p_mode_ceiling => 'v3')$$,
                        tests.create_booking(:'rc', 2, '2030-01-08 12:00+00')),
  'AS005', 'mode ceiling must be legacy, shadow or null', 'a ceiling can only be legacy or shadow');

-- Events are named for the path: legacy and shadow write the first implementation's auto_assign.*
-- events and no assignment.coordinator ones (the plan's shadow-phase check); v3 writes coordinator.*.
create function pg_temp.attempt(p_booking uuid, p_kind text default null) returns jsonb language plpgsql as $f$
declare began jsonb;
begin
  began := public.assignment_begin(p_booking);
  if began ->> 'outcome' <> 'ready' or p_kind is null then return began; end if;
  if p_kind = 'commit' then
    return public.assignment_commit(p_booking, (began ->> 'lease_token')::uuid,
      array[(began -> 'snapshot' -> 'tables' -> 0 ->> 'id')::uuid], 'first_fit', 3);
  end if;
  return public.assignment_fail(p_booking, (began ->> 'lease_token')::uuid, p_kind, p_kind || ': test', 2);
end $f$;
create temp table path_events (path text, booking_id uuid);
select tests.create_restaurant('Legacy path') as rl \gset
select tests.add_table(:'rl', 'L1', 4) \gset
select ops.set_restaurant_mode(:'rl', 'legacy', 'ana', 'path test');
select tests.create_restaurant('Shadow path') as rs \gset
select tests.add_table(:'rs', 'S1', 4) \gset
select ops.set_restaurant_mode(:'rs', 'shadow', 'ana', 'path test');
select tests.create_restaurant('V3 path') as rv \gset
select tests.add_table(:'rv', 'V1', 4) \gset
select ops.set_restaurant_mode(:'rv', 'v3', 'ana', 'path test');
do $$
declare
  r record;
  ok_booking uuid;
  failing uuid;
  huge uuid;
  held uuid;
  waiting uuid;
  probe uuid;
  unreachable uuid;
begin
  for r in select id, name from public.restaurants where name in ('Legacy path', 'Shadow path', 'V3 path') loop
    ok_booking := tests.create_booking(r.id, 2, '2030-01-07 12:00+00');
    perform pg_temp.attempt(ok_booking, 'commit');
    -- Errors until the breaker opens (5), then a begin the open breaker defers.
    failing := tests.create_booking(r.id, 2, '2030-01-07 15:00+00');
    for i in 1..5 loop
      update public.bookings set attempt_count = 0 where id = failing;
      perform pg_temp.attempt(failing, 'error');
    end loop;
    perform pg_temp.attempt(failing);
    -- Deferred past its bound (10 minutes) while the breaker stays open: escalated.
    update private.circuit_breakers set opened_at = now() + interval '1 hour' where restaurant_id = r.id;
    perform public.assignment_begin(failing, p_now => now() + interval '600 seconds');
    -- An operator closes the breaker; later a half-open breaker's probe has vanished, so the next booking
    -- takes over as the probe and its success closes the breaker.
    perform ops.reset_circuit_breaker(r.id, 'ana', 'path test');
    update private.circuit_breakers set state = 'half_open', consecutive_failures = 5, opened_at = now(),
                                        probe_booking_id = gen_random_uuid(), probe_started_at = now()
     where restaurant_id = r.id;
    probe := tests.create_booking(r.id, 2, '2030-01-07 17:00+00');
    perform pg_temp.attempt(probe, 'commit');
    -- No table fits, until escalation (legacy retries 4 times, v3 escalates at once).
    huge := tests.create_booking(r.id, 2, '2030-01-07 12:30+00');
    for i in 1..4 loop perform pg_temp.attempt(huge, 'no_fit'); end loop;
    -- Capacity: a party no arrangement seats.
    perform pg_temp.attempt(tests.create_booking(r.id, 9, '2030-01-07 19:00+00'));
    -- A lease held, a second begin of it, and a rate-limited one.
    insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (r.id, 1)
    on conflict (restaurant_id) do update set max_parallel = 1;
    held := tests.create_booking(r.id, 2, '2030-01-07 20:00+00');
    perform pg_temp.attempt(held);
    perform pg_temp.attempt(held);
    waiting := tests.create_booking(r.id, 2, '2030-01-07 21:00+00');
    perform pg_temp.attempt(waiting);
    -- Never picked up by the coordinator: the sweeper escalates it (below).
    unreachable := tests.create_booking(r.id, 2, '2030-01-07 22:00+00');
    update public.bookings set dispatch_count = 12, next_attempt_at = '2000-01-01' where id = unreachable;
    insert into path_events select r.name, b.id from public.bookings b where b.restaurant_id = r.id;
  end loop;
end $$;
select private.sweep(now());
create temp view path_event_types as
  select p.path, e.source, e.event_type, e.context
    from path_events p join public.observability_events e on e.booking_id = p.booking_id
   where e.source <> 'assignment.state_machine';
select is((select count(*)::int from path_event_types where path in ('Legacy path', 'Shadow path') and source = 'assignment.coordinator'),
  0, 'legacy and shadow restaurants write no assignment.coordinator events');
select is((select count(*)::int from path_event_types where path = 'V3 path' and source <> 'assignment.coordinator'),
  0, 'a v3 restaurant writes only assignment.coordinator events');
select set_eq($$select distinct event_type from path_event_types where path = 'Legacy path'$$,
  array['auto_assign.started', 'auto_assign.attempt.start', 'auto_assign.attempt', 'auto_assign.succeeded',
        'auto_assign.summary', 'auto_assign.attempt_error', 'auto_assign.retry_scheduled', 'auto_assign.circuit_opened',
        'auto_assign.circuit_open', 'auto_assign.circuit_probe_replaced', 'auto_assign.circuit_closed',
        'auto_assign.failed', 'auto_assign.lock_contention'],
  'the legacy path speaks the first implementation''s auto_assign.* language, down to the breaker and the rate limit');
select set_eq($$select distinct event_type from path_event_types where path = 'Shadow path'$$,
  $$select distinct event_type from path_event_types where path = 'Legacy path'$$,
  'shadow writes exactly what legacy writes');
select set_eq($$select distinct event_type from path_event_types where path = 'V3 path'$$,
  array['coordinator.start', 'coordinator.confirmed', 'assignment.success', 'coordinator.error', 'coordinator.retry',
        'coordinator.circuit_opened', 'coordinator.circuit_open', 'coordinator.circuit_probe_replaced',
        'coordinator.circuit_closed', 'coordinator.manual_review', 'coordinator.lock_contention'],
  'the v3 path writes the rollout plan''s coordinator.* events');
select is((select count(*)::int from path_event_types where path = 'Legacy path' and event_type = 'auto_assign.attempt.start'),
  (select count(*)::int from path_events p join public.observability_events e on e.booking_id = p.booking_id
    where p.path = 'Legacy path' and e.event_type = 'booking.assignment_state_transition'
      and e.context ->> 'to' = 'assignment_in_progress'),
  'one attempt.start per attempt, as V3 writes one coordinator.start');
select is((select count(*)::int from path_event_types where path = 'Legacy path' and event_type = 'auto_assign.retry_scheduled'
            and context ->> 'reason' = 'rate_limited'), 1, 'rate limiting on the legacy path is a retry_scheduled with reason rate_limited');
select results_eq($$select context ->> 'result', count(*)::int from path_event_types where path = 'Legacy path'
                     and event_type = 'auto_assign.summary' group by 1 order by 1$$,
  $$values ('exhausted', 4), ('succeeded', 2)$$,
  'every finished legacy booking has one summary: the two confirmed, the one out of attempts, the one no arrangement seats, the one deferred too long, the one never picked up');
select results_eq($$select context ->> 'reason', context ->> 'hardStopReason', (context ->> 'attempts')::int
                     from path_event_types where path = 'Legacy path' and event_type = 'auto_assign.failed' order by 3, 1$$,
  $$values ('coordinator_unreachable', 'coordinator_unreachable', 0), ('party_too_large', 'party_too_large', 0),
           ('circuit_open', 'circuit_open', 1), ('attempts_exhausted', null, 4)$$,
  'auto_assign.failed says why: a hard stop at once, deferred too long, never picked up, or four attempts used');
select is((select count(*)::int from path_event_types where path = 'V3 path' and event_type = 'coordinator.manual_review'), 4,
  'v3 escalates the no-fit at once, the oversized party, the one deferred too long and the one never picked up');
select results_eq($$select r.name, e.source, e.event_type from public.observability_events e
                      join public.restaurants r on r.id = e.restaurant_id
                     where e.event_type like '%circuit_reset' and r.name like '% path' order by 1$$,
  $$values ('Legacy path', 'auto_assign', 'auto_assign.circuit_reset'),
           ('Shadow path', 'auto_assign', 'auto_assign.circuit_reset'),
           ('V3 path', 'assignment.coordinator', 'coordinator.circuit_reset')$$,
  'an operator''s breaker reset is named for the restaurant''s path too');
select ok((select bool_and(context ->> 'mode' = 'shadow') from path_event_types where path = 'Shadow path'),
  'shadow''s auto_assign events say they ran in shadow');

-- Only operators reach these functions.
select is(
  (select count(*)::int from pg_proc p, unnest(array['anon', 'authenticated']) r(role)
    where p.pronamespace = 'ops'::regnamespace and has_function_privilege(r.role, p.oid, 'EXECUTE')),
  0, 'anon and authenticated can execute no ops function');

select * from finish();
rollback;
