-- The rollout gates remember that events were pruned after the audit row that told them is pruned itself
-- (20261231350000): the nightly prune records how far back it deleted, and events_kept_since and
-- shadow_kept_since read it, as service_role's ops.pipeline_metrics gives them to scripts/verify-rollout.
begin;
select plan(7);

create function pg_temp.kept() returns jsonb language sql as $$
  select ops.pipeline_metrics(now() - interval '1 minute', now() + interval '1 minute')
$$;
create function pg_temp.seconds_from(p_at text, p_expected timestamptz) returns numeric language sql as $$
  select abs(extract(epoch from p_at::timestamptz - p_expected))
$$;
grant execute on function pg_temp.kept() to service_role;

-- A night at a retention of 1 day: the prune deletes an event of 5 days ago, and a comparison of 5 days ago.
select tests.create_restaurant('Pruned') as rid \gset
select tests.create_booking(:'rid', 2, '2030-08-01 19:00+00') as bid \gset
insert into public.observability_events (source, event_type, severity, context, created_at)
values ('assignment.sweeper', 'test.old', 'info', '{}', now() - interval '5 days');
insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
                                       primary_decision, candidate_decision, primary_ms, candidate_ms, created_at)
values (:'bid', :'rid', 'v3', 'legacy', 'scarcity_fit', 'assign', 'assign', 1, 1, now() - interval '5 days');
set local role service_role;
select ops.set_event_retention(1, 'ana', 'disk nearly full') is not null as lowered \gset
select ops.set_retention('shadow_comparisons', 1, 'ana', 'disk nearly full') is not null as lowered \gset
reset role;
select private.prune_old_rows() as pruned \gset
select ok((:'pruned'::jsonb ->> 'observability_events')::int >= 1 and (:'pruned'::jsonb ->> 'shadow_comparisons')::int >= 1,
  'a prune at a retention of 1 day deleted the old event and comparison');

-- Raised the next day; then, past the audit's retention, the audit rows of both changes are pruned.
set local role service_role;
select ops.set_event_retention(400, 'ana', 'disk grown') is not null as raised \gset
select ops.set_retention('shadow_comparisons', 400, 'ana', 'disk grown') is not null as raised \gset
reset role;
delete from public.pipeline_settings_audit where setting in ('event_retention_days', 'shadow_retention_days');

set local role service_role;
select pg_temp.kept() as m \gset
reset role;
select cmp_ok(pg_temp.seconds_from(:'m'::jsonb ->> 'events_kept_since', now() - interval '1 day'), '<', 1::numeric,
  'with the audit row gone, events are still kept only since the prune''s cut-off, a day back');
select cmp_ok(pg_temp.seconds_from(:'m'::jsonb ->> 'shadow_kept_since', now() - interval '1 day'), '<', 1::numeric,
  'and shadow comparisons likewise');

-- A later prune at the raised retention deletes nothing, and the mark stays where it was.
select private.prune_old_rows() ->> 'observability_events' as none \gset
select is(:'none'::text, '0', 'a prune at 400 days finds nothing older to delete');
select cmp_ok(pg_temp.seconds_from(private.kept_since('event_retention_days')::text, now() - interval '1 day'), '<',
  1::numeric, 'and the mark never moves back');

-- A prune at a lowered retention that finds nothing to delete (the night before took it all) marks nothing.
delete from private.retention_marks;
set local role service_role;
select ops.set_event_retention(7, 'ana', 'brief') is not null as lowered \gset
select ops.set_retention('shadow_comparisons', 7, 'ana', 'brief') is not null as lowered \gset
reset role;
select private.prune_old_rows() as again \gset
select is((select count(*)::int from private.retention_marks)
          + (:'again'::jsonb ->> 'observability_events')::int + (:'again'::jsonb ->> 'shadow_comparisons')::int, 0,
  'only a prune that deleted rows leaves a mark');

-- Nobody but the prune writes the marks.
set local role service_role;
select throws_ok($$insert into private.retention_marks values ('event_retention_days', now())$$, '42501', null,
  'service_role cannot write the marks');
reset role;

select * from finish();
rollback;
