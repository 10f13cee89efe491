-- The nightly prune removes the oldest rows first, a batch at a time (private.prune_old_rows with a limit, as
-- the retention job calls it, committing after each batch), so a run that stops early has removed the oldest of
-- what it had to and left no gap; and a batch of no rows is refused. Run as the nightly job runs it, as the owner.
begin;
select plan(5);

select tests.create_restaurant('Old events') as rid \gset
-- Only this test's events are past the 30 days events are kept.
update public.observability_events set created_at = now() where created_at < now() - interval '29 days';
insert into public.observability_events (source, event_type, severity, context, restaurant_id, created_at)
values ('test', 'test.sixty_days', 'info', '{}', :'rid', now() - interval '60 days'),
       ('test', 'test.forty_days', 'info', '{}', :'rid', now() - interval '40 days'),
       ('test', 'test.fifty_days', 'info', '{}', :'rid', now() - interval '50 days');

select is((private.prune_old_rows(now(), 1, false) ->> 'observability_events')::int, 1, 'a batch of one removes one event');
select is((select array_agg(event_type order by created_at) from public.observability_events where restaurant_id = :'rid'),
  array['test.fifty_days', 'test.forty_days'], 'the oldest');
select is((private.prune_old_rows(now(), 1, false) ->> 'observability_events')::int, 1, 'the next batch one more');
select is((select array_agg(event_type) from public.observability_events where restaurant_id = :'rid'),
  array['test.forty_days'], 'the next oldest');
select throws_ok($$select private.prune_old_rows(now(), 0, false)$$, 'AS005',
  'limit is at least 1 row, or null for every row', 'a batch of none is refused');

select * from finish();
rollback;
