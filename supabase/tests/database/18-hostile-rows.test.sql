begin;
-- The sweeper's lock first, as the sweep takes it before any other lock (see 25): this transaction holds
-- bookings' table lock when it sweeps, and the stack's own sweeper, waiting for that table while it holds the
-- sweeper's lock, would deadlock with it.
select pg_advisory_xact_lock(private.lock_key('sweeper', '00000000-0000-0000-0000-000000000000')) as sweeper_locked \gset
select plan(28);

select tests.create_restaurant() as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.create_booking(:'rid', 2, '2030-01-07 19:00+00') as b \gset
select tests.create_restaurant('Elsewhere') as other \gset

-- The boundary: values a column would accept but no booking can mean.
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at) values (%L, 2147483647, '2030-01-07 19:00+00')$$, :'rid'),
  '23514', null, 'a party of 2147483647 is refused at the boundary');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at) values (%L, 101, '2030-01-07 19:00+00')$$, :'rid'),
  '23514', null, 'a party of more than 100 is an event, not a booking');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at) values (%L, 2, now() + interval '6 years')$$, :'rid'),
  'AS005', 'a booking starts between a day ago and five years from now', 'a start years ahead is refused');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at) values (%L, 2, now() - interval '2 days')$$, :'rid'),
  'AS005', null, 'and so is one in the past');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at, notes) values (%L, 2, '2030-01-07 19:00+00', repeat('x', 2001))$$, :'rid'),
  '23514', null, 'free text is bounded');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at, reference) values (%L, 2, '2030-01-07 19:00+00', '12345678')$$, :'rid'),
  '23514', null, 'a reference is a readable code, never something that reads as a number');
select throws_ok(format($$select tests.add_table(%L, '10000001', 4)$$, :'rid'), '23514', null,
  'a table number that reads as a phone number is refused, so no event about it can be');
select throws_ok(format($$select tests.add_table(%L, 'T9', 2147483647)$$, :'rid'), '23514', null,
  'a table seats at most 100');

-- A client (service_role, as the Data API runs it) cannot set or change the pipeline's bookkeeping.
set local role service_role;
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at, created_at) values (%L, 2, '2030-01-07 19:00+00', '12345-01-01')$$, :'rid'),
  'AS012', null, 'a client cannot date a booking itself');
select throws_ok(format($$insert into public.bookings (restaurant_id, party_size, start_at, next_attempt_at) values (%L, 2, '2030-01-07 19:00+00', 'infinity')$$, :'rid'),
  'AS012', null, 'nor choose when it is due');
select throws_ok(format($$update public.bookings set next_attempt_at = 'infinity' where id = %L$$, :'b'), 'AS012',
  'bookings.next_attempt_at is the pipeline''s bookkeeping: leave it out of the update', 'nor postpone it forever');
select throws_ok(format($$update public.bookings set attempt_count = 3 where id = %L$$, :'b'), 'AS012', null,
  'nor count its attempts');
select throws_ok(format($$update public.bookings set manual_review_reason = 'forged' where id = %L$$, :'b'), 'AS012', null,
  'nor forge a reason');
select throws_ok(format($$update public.bookings set restaurant_id = %L where id = %L$$, :'other', :'b'), 'AS005', null,
  'nor move it to another restaurant');
select lives_ok(format($$update public.bookings set notes = 'window seat', buffer_after_minutes = 15 where id = %L$$, :'b'),
  'the guest''s own details change as before');
reset role;

-- A lease a client could not set, in the database owner's hands, still ends: the sweeper handles each row
-- on its own. One row that fails is escalated with a reason naming the failure; the others are swept.
select tests.create_booking(:'rid', 2, '2030-01-07 12:00+00') as bad \gset
select tests.create_booking(:'rid', 2, '2030-01-07 13:00+00') as good \gset
update public.bookings set next_attempt_at = now() - interval '1 minute' where id in (:'bad', :'good');
create function tests.break_one_row() returns trigger language plpgsql as $$
begin
  if new.id = current_setting('tests.bad')::uuid and new.dispatch_count <> old.dispatch_count then
    raise exception 'this row cannot be dispatched';
  end if;
  return new;
end $$;
select set_config('tests.bad', :'bad', true);
-- The strongest lock first: taken later by drop trigger, it could deadlock with a sweep or claim of the running
-- stack waiting behind the lock create trigger holds.
lock table public.bookings in access exclusive mode;
create trigger break_one_row before update on public.bookings for each row execute function tests.break_one_row();
select lives_ok($$select private.sweep(now())$$, 'a sweep with a failing row does not raise');
select is((select assignment_state from public.bookings where id = :'bad'), 'manual_review', 'the failing row is escalated');
select is((select manual_review_reason from public.bookings where id = :'bad'),
  'sweeper_error: dispatch failed with SQLSTATE P0001; see the sweeper.row_failed event', 'with a reason naming the failure');
select is((select dispatch_count from public.bookings where id = :'good'), 1, 'and the other row is dispatched in the same sweep');
select is((select context from public.observability_events where booking_id = :'bad' and event_type = 'sweeper.row_failed'),
  '{"step": "dispatch", "sqlstate": "P0001"}'::jsonb, 'an event records what failed');
drop trigger break_one_row on public.bookings;

-- Released at the moment of release: a cancellation whose transaction began before the tables were written.
select tests.create_booking(:'rid', 2, '2030-01-07 15:00+00') as late \gset
insert into public.booking_table_assignments (booking_id, restaurant_id, table_id, during, created_at)
select :'late', :'rid', :'t1', private.blocked_window(x), clock_timestamp() from public.bookings x where x.id = :'late';
select lives_ok(format($$select public.cancel_booking(%L)$$, :'late'),
  'tables written after this transaction began are still released');

-- A move list names each booking once.
select throws_ok(format($$select private.apply_moves(b, '[{"booking_id": "%s", "from_table_ids": [], "to_table_ids": []}, {"booking_id": "%s", "from_table_ids": [], "to_table_ids": []}]'::jsonb, 3) from public.bookings b where b.id = %L$$,
                        :'good', :'good', :'b'), 'AS007', 'a proposed move list names the same booking twice',
  'the same booking twice in one move list is refused');

-- A changed buffer moves the held window: the booking is planned again.
select tests.create_booking(:'rid', 2, '2030-01-07 17:00+00') as buffered \gset
select tests.force_state(:'buffered', 'confirmed');
update public.bookings set buffer_after_minutes = 30 where id = :'buffered';
select is((select assignment_state from public.bookings where id = :'buffered'), 'assignment_pending',
  'a confirmed booking whose buffer changed is planned again');

-- Personal data in compatibility forms is still personal data, and what operators type is scrubbed.
select ok(private.text_has_personal_data('call ＋４４ ２０ ７９４６ ０９５８'), 'full-width digits read as a phone number');
select ops.set_kill_switch(true, 'ana@example.com', 'call +44 20 7946 0958') is not null as switched \gset
select is((select array[actor, reason] from public.pipeline_settings_audit where setting = 'kill_switch' order by id desc limit 1),
  array['[email]', 'call [number]'], 'the settings audit stores the actor and reason scrubbed');
select is((select count(*)::int from public.pipeline_settings_audit where (actor || coalesce(reason, '') || coalesce(new_value::text, '')) ~ '7946'),
  0, 'and no audit row keeps the number anywhere');

-- The group search is bounded whatever the floor plan: 56 tables that all touch one another.
select tests.create_restaurant('Banquet') as hall \gset
select count(tests.add_table(:'hall', 'H' || i, 4)) as hall_tables from generate_series(1, 56) i \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b)
select :'hall', a.id, b.id from public.restaurant_tables a join public.restaurant_tables b
    on a.restaurant_id = b.restaurant_id and a.id < b.id where a.restaurant_id = :'hall';
set local statement_timeout = '20s';
select is(private.largest_combination(:'hall', 4, 13), 16,
  'the largest combination of a dense room is answered in bounded time, never below what it could seat');
reset statement_timeout;

-- Every dispatch answered 401 (a wrong secret in Vault) is a configuration problem ops sees at once.
insert into private.pipeline_requests (id, function_name) values (-1, 'assignment-coordinator');
insert into net._http_response (id, status_code, content, timed_out) values (-1, 401, '{"error": "unauthorized"}', false);
select ok((ops.health() ->> 'status') = 'down' and (ops.health() -> 'problems') ?
            'dispatches are refused (401/403/404): check assignment_functions_url and assignment_pipeline_secret in Vault against the functions'' URL and ASSIGNMENT_PIPELINE_SECRET',
  'health is down when the functions refuse dispatches, and says what to check');

select * from finish();
rollback;
