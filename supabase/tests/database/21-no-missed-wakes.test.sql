begin;
select plan(5);

-- The first booking of a queue looks again by itself shortly: the transaction freeing a slot may have been
-- committing while it decided to wait, and then woke nobody. The bookings behind it are woken in turn.
select tests.create_restaurant('Queue head') as r \gset
select tests.add_table(:'r', 'Q1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 1);
select tests.create_booking(:'r', 2, '2030-02-07 19:00+00') as holder \gset
select tests.create_booking(:'r', 2, '2030-02-07 20:00+00') as head \gset
select tests.create_booking(:'r', 2, '2030-02-07 21:00+00') as behind \gset
select ok((select deferred_since is not null and next_attempt_at <= now() + interval '1 second'
             from public.bookings where id = :'head'),
  'the first booking to find the slots taken waits, but is due again within a second');
select ok((select deferred_since is not null and next_attempt_at >= now() + interval '5 seconds'
             from public.bookings where id = :'behind'),
  'a booking behind it waits to be woken (due only after the fallback)');
select ok(not exists (select 1 from net.http_request_queue q
                       where pg_catalog.convert_from(q.body, 'UTF8') like any (array['%' || :'head' || '%', '%' || :'behind' || '%'])),
  'neither is dispatched');
-- Once due, the head is counted as about to take the slot, so a new booking still queues behind it.
select ok(not (:'head' = any(public.assignment_claim_due(1000, :'r', 10000, now()))),
  'the head is not claimable before its moment');
select ok(:'head' = any(public.assignment_claim_due(1000, :'r', 10000, now() + interval '1 second')),
  'and is claimed by a running coordinator once it is due');

select * from finish();
rollback;
