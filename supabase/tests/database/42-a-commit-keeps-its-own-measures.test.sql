-- What a caller sends with a commit cannot replace what the commit measured or put its own words in the
-- confirmed event, and malformed arguments are refused with AS005 (20261210170000). The calls run as
-- service_role, as a Data API client's would.
begin;
select plan(7);

select tests.create_restaurant('Measured') as rid \gset
select tests.add_table(:'rid', 'M1', 4) as m1 \gset
select tests.create_booking(:'rid', 2, '2031-01-06 19:00+00') as booking \gset
select (public.assignment_begin(:'booking')) ->> 'lease_token' as lease \gset

set local role service_role;
select throws_ok(format($$select public.assignment_commit(%L, %L, array[%L]::uuid[], 'Maria Garcia')$$, :'booking', :'lease', :'m1'),
  'AS005', null, 'a strategy is a name of the engine''s, not any text');
select throws_ok(format($$select public.assignment_commit(%L, %L, array[%L]::uuid[], 'scarcity_fit', -1)$$, :'booking', :'lease', :'m1'),
  'AS005', null, 'a negative duration is refused');
select throws_ok(format($$select public.assignment_commit(%L, %L, array[%L]::uuid[], 'scarcity_fit', 1, '{}', null, '{}')$$,
                        :'booking', :'lease', :'m1'),
  'AS005', null, 'moves that are not a list are refused');

select is(public.assignment_commit(:'booking', :'lease', array[:'m1']::uuid[], 'scarcity_fit', 3,
            '{"score": 1.5, "attempts": 99, "duration_ms": 0, "note": "Maria Garcia, nut allergy", "Bad Key": 1, "result": "failed",
              "exact": {"verdict": "plan", "movable": 3}}') ->> 'outcome', 'confirmed', 'the commit itself goes through');
select is((select array[context ->> 'attempts', context ->> 'duration_ms', context ->> 'score'] from public.observability_events
            where booking_id = :'booking' and event_type = 'coordinator.confirmed'),
  array['1', '3', '1.5'], 'the event keeps what the commit measured, with the engine''s score beside it');
select ok((select not (context ? 'note') and not (context ? 'Bad Key') and not (context ? 'result') from public.observability_events
            where booking_id = :'booking' and event_type = 'coordinator.confirmed'), 'and none of the caller''s words, nor a key the dashboards read');
select is((select context -> 'exact' from public.observability_events
            where booking_id = :'booking' and event_type = 'coordinator.confirmed'),
  '{"verdict": "plan", "movable": 3}'::jsonb, 'the exact fallback''s details are kept');

reset role;
select * from finish();
rollback;
