begin;
select plan(10);

-- A booking with nobody asleep ahead of it in its restaurant's queue looks again by itself shortly: the
-- transaction freeing a slot may have been committing while it decided to wait, and then woke nobody. A
-- booking behind one still asleep waits to be woken in turn. (One transaction has one now(): the order of
-- creation is made explicit.)
select tests.create_restaurant('Queue head') as r \gset
select tests.add_table(:'r', 'Q1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 1);
select tests.create_booking(:'r', 2, '2030-02-07 19:00+00') as holder \gset
update public.bookings set created_at = now() - interval '3 minutes' where id = :'holder';
select tests.create_booking(:'r', 2, '2030-02-07 20:00+00') as head \gset
update public.bookings set created_at = now() - interval '2 minutes' where id = :'head';
select tests.create_booking(:'r', 2, '2030-02-07 21:00+00') as behind \gset
select ok((select deferred_since is not null and next_attempt_at <= now() + interval '1 second'
             from public.bookings where id = :'head'),
  'the first booking to find the slots taken waits, but is due again within a second');
select ok((select deferred_since is not null and next_attempt_at >= now() + interval '5 seconds'
             from public.bookings where id = :'behind'),
  'a booking behind it, still asleep, waits to be woken (due only after the fallback)');
select ok(not exists (select 1 from net.http_request_queue q
                       where pg_catalog.convert_from(q.body, 'UTF8') like any (array['%' || :'head' || '%', '%' || :'behind' || '%'])),
  'neither is dispatched');
select ok(not (:'head' = any(public.assignment_claim_due(1000, :'r', 10000, now()))),
  'the first is not claimable before its moment');
select ok(:'head' = any(public.assignment_claim_due(1000, :'r', 10000, now() + interval '1 second')),
  'and is claimed by a running coordinator once it is due');

-- Looking again while the slots stay taken: still first (the booking behind does not count), and less often the
-- longer it has waited, never less often than every 2 s.
select public.assignment_begin(:'holder') ->> 'outcome' as holding \gset
select is(public.assignment_begin(:'head', p_now => now() + interval '1 second') ->> 'outcome', 'rate_limited',
  'the first in line finds the slot still taken');
select ok((select next_attempt_at - (now() + interval '1 second') between interval '250 milliseconds' and interval '1 second'
             from public.bookings where id = :'head'),
  'and looks again shortly, although a booking waits behind it');
select public.assignment_begin(:'head', p_now => now() + interval '1 minute');
select ok((select next_attempt_at - (now() + interval '1 minute') = interval '2 seconds' from public.bookings where id = :'head'),
  'after a minute of waiting it looks again every 2 s');

-- A booking behind others that are all awake (woken and about to begin) is the first asleep: it looks again.
update public.bookings set next_attempt_at = now() where id in (:'head', :'behind');
select tests.create_booking(:'r', 2, '2030-02-07 22:00+00') as last \gset
select ok((select next_attempt_at <= now() + interval '1 second' from public.bookings where id = :'last'),
  'a booking behind only woken ones is the first asleep and looks again shortly');
update public.bookings set next_attempt_at = now() + interval '10 seconds', created_at = now() - interval '1 minute'
 where id = :'behind';
select tests.create_booking(:'r', 2, '2030-02-07 23:00+00') as later \gset
select ok((select next_attempt_at >= now() + interval '5 seconds' from public.bookings where id = :'later'),
  'one behind a booking still asleep waits to be woken');

select * from finish();
rollback;
