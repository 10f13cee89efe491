begin;
select plan(4);

-- The time a booking waits in the queue from its insert counts toward max_deferral_seconds (600 s here).
select tests.create_restaurant('Long queue') as r \gset
select tests.add_table(:'r', 'L1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 1);
select tests.create_booking(:'r', 2, '2030-02-05 18:00+00') as holder \gset
select public.assignment_begin(:'holder') ->> 'outcome' as began \gset

-- Queued at insert, 11 minutes ago (one transaction has one now(), so the past is written in).
select tests.create_booking(:'r', 2, '2030-02-05 20:00+00') as old \gset
update public.bookings set deferred_since = now() - interval '11 minutes' where id = :'old';
select is(public.assignment_begin(:'old') ->> 'outcome', 'manual_review',
  'a booking queued at insert for longer than the limit goes to manual review at its first begin');
select matches((select manual_review_reason from public.bookings where id = :'old'), '^rate_limited: waited 11 min',
  'saying how long it waited since it joined the queue');

-- Queued 2 minutes ago: it goes on waiting, and its stretch of waiting goes on from when it joined.
select tests.create_booking(:'r', 2, '2030-02-05 21:00+00') as young \gset
update public.bookings set deferred_since = now() - interval '2 minutes' where id = :'young';
select is(public.assignment_begin(:'young') ->> 'outcome', 'rate_limited', 'a booking within the limit waits again');
select is((select deferred_since from public.bookings where id = :'young'), now() - interval '2 minutes',
  'from the time it joined the queue, not from this begin');

select * from finish();
rollback;
