-- A deferred booking's next look is due no later than its deferral limit, at insert and at every deferral
-- (20261210160000). Settings here: one slot, a one-hour fallback delay, a one-minute limit.
begin;
select plan(5);

select tests.create_restaurant('Short patience') as r \gset
select tests.add_table(:'r', 'P1', 4) \gset
insert into private.restaurant_pipeline_settings (restaurant_id, max_parallel) values (:'r', 1);
update private.pipeline_settings set rate_limited_delay_ms = 3600000, max_deferral_seconds = 60;
select tests.create_booking(:'r', 2, '2030-11-04 18:00+00') as holder \gset
select public.assignment_begin(:'holder') ->> 'outcome' as began \gset

select tests.create_booking(:'r', 2, '2030-11-04 20:00+00') as queued \gset
select is((select deferred_since from public.bookings where id = :'queued'), now(), 'a booking made while the slot is taken joins the queue');
select is((select next_attempt_at from public.bookings where id = :'queued'), now() + interval '60 seconds',
  'due when its one minute is up, not after the hour''s fallback');

-- Begun 40 s into its wait: deferred again, due at the end of its minute.
update public.bookings set deferred_since = now() - interval '40 seconds' where id = :'queued';
select is(public.assignment_begin(:'queued') ->> 'outcome', 'rate_limited', 'still within its minute, it waits');
select is((select next_attempt_at from public.bookings where id = :'queued'), now() + interval '20 seconds',
  'due when the minute is up');

-- Begun when the minute is up: manual review, not admitted an hour late.
update public.bookings set deferred_since = now() - interval '60 seconds' where id = :'queued';
select is(public.assignment_begin(:'queued') ->> 'outcome', 'manual_review', 'at its limit it goes to manual review');

select * from finish();
rollback;
