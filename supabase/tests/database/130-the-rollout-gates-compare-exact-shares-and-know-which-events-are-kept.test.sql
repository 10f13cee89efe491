-- The rollout gates' metrics give the counts their rates are rounded from, every transition twice (history and
-- event), and from when events are surely kept (20261231080000). Called as the Data API's role calls it.
begin;
select plan(7);

select tests.run_v3();
select tests.create_restaurant('Gates') as rid \gset
select tests.add_table(:'rid', 'G1', 4) as g1 \gset
select tests.confirmed_on(:'rid', 2, '2030-08-01 19:00+00', :'g1') as seated \gset
select tests.create_booking(:'rid', 2, '2030-08-01 19:00+00') as waiting \gset
select public.cancel_booking(tests.create_booking(:'rid', 2, '2030-08-02 19:00+00'), 'guest cancelled', 'test')
  is not null as cancelled \gset

set local role service_role;
select ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid') as m \gset
reset role;
select is((:'m'::jsonb ->> 'not_cancelled')::int, 2, 'the bookings not cancelled, the confirmation rate''s whole');
select is((:'m'::jsonb ->> 'terminal')::int, 2, 'the confirmed and the cancelled are terminal, the waiting one not');
select is(:'m'::jsonb -> 'transitions' ->> 'history', :'m'::jsonb -> 'transitions' ->> 'events',
  'every transition recorded has its event');
select ok((:'m'::jsonb -> 'transitions' ->> 'history')::int >= 2, 'and there are transitions to compare');

-- Kept since the retention's days back, as it is now (30 by default)...
select ok(abs(extract(epoch from (:'m'::jsonb ->> 'events_kept_since')::timestamptz - (now() - interval '30 days'))) < 1,
  'events are kept since the retention''s days back');
select ok(abs(extract(epoch from (:'m'::jsonb ->> 'shadow_kept_since')::timestamptz
                       - (now() - make_interval(days => (select shadow_retention_days from private.rollout_settings))))) < 1,
  'and shadow comparisons since theirs');
-- ... and as it was before each change: lowered to 7 days for a while (a prune then cut 7 days back), and raised.
set local role service_role;
select ops.set_event_retention(7, 'ana', 'disk nearly full') is not null as lowered \gset
select ops.set_event_retention(30, 'ana', 'disk grown') is not null as raised \gset
select ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute', :'rid') as m \gset
reset role;
select ok(abs(extract(epoch from (:'m'::jsonb ->> 'events_kept_since')::timestamptz - (now() - interval '7 days'))) < 1,
  'a retention of 7 days, raised since, keeps events only since 7 days before it was raised');

select * from finish();
rollback;
