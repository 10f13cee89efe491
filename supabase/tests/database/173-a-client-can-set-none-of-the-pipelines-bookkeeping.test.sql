-- A client can set none of the pipeline's bookkeeping (DESIGN §3.11): each column private.guard_bookkeeping
-- keeps, in an insert and in an update by service_role as the Data API runs it, is refused (AS012) with the
-- column named, and nothing is written. pgTAP 18 tries a few; this tries every one, so a column dropped from
-- the guard fails here (a mutant letting assignment_strategy through passed every test before).
begin;
select plan(24);

select tests.create_restaurant('Bookkeeping') as r \gset
select tests.create_booking(:'r', 2, '2030-12-01 19:00+00') as b \gset
select to_jsonb(b) - 'updated_at' as before from public.bookings b where id = :'b' \gset

create temporary table bookkeeping (col text, val text, named text) on commit drop;
insert into bookkeeping values
  ('created_at', $$'2030-01-01 00:00+00'$$, 'created_at'),
  ('next_attempt_at', 'now()', 'next_attempt_at'),
  ('attempt_count', '1', 'attempt_count'),
  ('dispatch_count', '1', 'dispatch_count'),
  ('last_dispatched_at', 'now()', 'last_dispatched_at'),
  ('lease_token', 'gen_random_uuid()', 'lease_token'),
  ('lease_expires_at', 'now()', 'lease_token'),
  ('deferred_since', 'now()', 'deferred_since'),
  ('manual_review_reason', $$'forged'$$, 'manual_review_reason'),
  ('assignment_mode', $$'v3'$$, 'assignment_mode'),
  ('assignment_strategy', $$'forged'$$, 'assignment_strategy');
grant select on bookkeeping to service_role;

set local role service_role;
select throws_ok(
  format('insert into public.bookings (restaurant_id, party_size, start_at, %I) values (%L, 2, %L, %s)',
         k.col, :'r', '2030-12-01 20:00+00', k.val),
  'AS012', format('bookings.%s is the pipeline''s bookkeeping: leave it out of the insert', k.named),
  format('a client cannot insert a booking with its own %s', k.col))
  from bookkeeping k order by k.col;
select throws_ok(
  format('update public.bookings set %I = %s where id = %L', k.col, k.val, :'b'),
  'AS012', format('bookings.%s is the pipeline''s bookkeeping: leave it out of the update', k.named),
  format('nor change a booking''s %s', k.col))
  from (table bookkeeping union all values ('reference', $$'A000000000'$$, 'reference')) k order by k.col;
reset role;

select is((select to_jsonb(b) - 'updated_at' from public.bookings b where id = :'b'), :'before'::jsonb,
  'the booking is as it was');

select * from finish();
rollback;
