-- A booking whose status comes back to confirmed from checked_in, completed or no_show keeps its tables only
-- where they still hold its stay under the rules, and an arrived or finished party's state moves only by
-- cancelling (20261210120000). The platform's writes go through the Data API, so they run here as
-- service_role.
begin;
select plan(21);

select tests.create_restaurant('Back again') as rid \gset
select tests.add_table(:'rid', 'B1', 4) as b1 \gset
select tests.add_table(:'rid', 'B2', 4) as b2 \gset

-- Every hold of a booking not yet arrived covers exactly its stay: the invariant the attack broke.
create function pg_temp.holds_off_their_stay(p_restaurant uuid) returns integer language sql as $$
  select count(*)::int from public.booking_table_assignments a join public.bookings b on b.id = a.booking_id
   where a.restaurant_id = p_restaurant and a.released_at is null and b.status in ('pending', 'confirmed')
     and a.during <> private.blocked_window(b);
$$;
create function pg_temp.state_of(p_booking uuid) returns text language sql as $$
  select assignment_state from public.bookings where id = p_booking;
$$;
create function pg_temp.pending_messages(p_booking uuid) returns integer language sql as $$
  select count(*)::int from public.notification_outbox where booking_id = p_booking and status = 'pending';
$$;

-- 1. A no-show moved to the next day, then confirmed again: planned again, not left holding the old day.
select tests.create_booking(:'rid', 2, '2030-08-05 18:00+00') as noshow \gset
select ops.assign_tables(:'noshow', array['B1'], 'ana') ->> 'outcome' as confirmed \gset
select pg_temp.pending_messages(:'noshow') as noshow_messages \gset
set local role service_role;
update public.bookings set status = 'no_show', start_at = '2030-08-06 18:00+00' where id = :'noshow';
reset role;
select is((select lower(during) from public.booking_table_assignments where booking_id = :'noshow' and released_at is null),
  '2030-08-05 18:00+00'::timestamptz, 'a no-show whose time changes is left as it is');
set local role service_role;
update public.bookings set status = 'confirmed' where id = :'noshow';
reset role;
select is((select array[assignment_state, status] from public.bookings where id = :'noshow'), array['assignment_pending', 'pending'],
  'confirmed again at the new time, it is planned again');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'noshow' and released_at is null), 0,
  'and holds nothing at the old time');
select is(pg_temp.pending_messages(:'noshow'), :noshow_messages, 'the guest is told nothing until it is confirmed again');
select ok((select reason from public.booking_assignment_state_history where booking_id = :'noshow' order by version desc limit 1)
  like 'booking_changed: %', 'the history says why');
select tests.create_booking(:'rid', 2, '2030-08-06 18:00+00') as other \gset
select is(ops.assign_tables(:'other', array['B1'], 'ana') ->> 'outcome', 'confirmed', 'another party takes the table at the new time');
select is(pg_temp.holds_off_their_stay(:'rid'), 0, 'and every hold covers its booking''s stay');

-- 1b. Moved into the past while a no-show: its holds ahead are not left to it when it is confirmed again.
select tests.create_booking(:'rid', 2, '2030-08-05 21:00+00') as backdated \gset
select ops.assign_tables(:'backdated', array['B2'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'no_show', start_at = now() - interval '1 day' where id = :'backdated';
update public.bookings set status = 'confirmed' where id = :'backdated';
reset role;
select is(pg_temp.state_of(:'backdated'), 'assignment_pending', 'a stay moved into the past does not keep holds ahead');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'backdated' and released_at is null), 0,
  'they are released');

-- 1c. A visit over, marked completed and then confirmed again (a correction): it keeps what it held, and the
-- guest, whose confirmation never went out, is not sent one for a visit already over.
select tests.create_booking(:'rid', 2, '2030-08-05 12:00+00') as over \gset
select ops.assign_tables(:'over', array['B2'], 'ana') ->> 'outcome' as confirmed \gset
update public.notification_outbox set status = 'dead' where booking_id = :'over';
set local role service_role;
update public.bookings set status = 'completed', start_at = now() - interval '6 hours' where id = :'over';
reset role;
-- Its hold where its stay now is, as one made for that day would be.
update public.booking_table_assignments a set during = private.blocked_window(b)
  from public.bookings b where b.id = a.booking_id and a.booking_id = :'over' and a.released_at is null;
set local role service_role;
update public.bookings set status = 'confirmed' where id = :'over';
reset role;
select is(pg_temp.state_of(:'over'), 'confirmed', 'a visit over, confirmed again, keeps what it held');
select is(pg_temp.pending_messages(:'over'), 0, 'and no message is queued about a visit already over');

-- 2. A check-in undone with nothing changed: the booking keeps its tables, and the guest hears nothing.
select tests.create_booking(:'rid', 2, '2030-08-07 18:00+00') as undone \gset
select ops.assign_tables(:'undone', array['B1'], 'ana') ->> 'outcome' as confirmed \gset
select pg_temp.pending_messages(:'undone') as undone_messages \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'undone';
update public.bookings set status = 'confirmed' where id = :'undone';
reset role;
select is((select array[assignment_state, status] from public.bookings where id = :'undone'), array['confirmed', 'confirmed'],
  'a check-in undone leaves the booking confirmed');
select is((select array_agg(table_id) from public.booking_table_assignments where booking_id = :'undone' and released_at is null),
  array[:'b1'::uuid], 'on its table');
select is(pg_temp.pending_messages(:'undone'), :undone_messages, 'and queues no message');

-- 3. A seated party that grew past its table, then back to confirmed: its table no longer seats it.
select tests.create_booking(:'rid', 2, '2030-08-08 18:00+00') as grown \gset
select ops.assign_tables(:'grown', array['B2'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'grown';
update public.bookings set party_size = 9 where id = :'grown';
reset role;
select is((select array[assignment_state, status] from public.bookings where id = :'grown'), array['confirmed', 'checked_in'],
  'a seated party that grows keeps its table while seated');
set local role service_role;
update public.bookings set status = 'confirmed' where id = :'grown';
reset role;
select is((select assignment_state from public.bookings where id = :'grown'), 'assignment_pending',
  'back to confirmed, a table too small for it is planned again');

-- 4. A seated stay that could not be held in full, then back to confirmed: planned again for all of it.
select tests.create_booking(:'rid', 2, '2030-08-09 18:00+00') as stayed \gset
select ops.assign_tables(:'stayed', array['B1'], 'ana') ->> 'outcome' as confirmed \gset
select tests.create_booking(:'rid', 2, '2030-08-09 21:00+00') as next \gset
select ops.assign_tables(:'next', array['B1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'stayed';
update public.bookings set end_at = '2030-08-09 21:30+00' where id = :'stayed';
update public.bookings set status = 'confirmed' where id = :'stayed';
reset role;
select is((select assignment_state from public.bookings where id = :'stayed'), 'assignment_pending',
  'a stay its hold did not cover is planned again once the party is back to confirmed');
select is(pg_temp.holds_off_their_stay(:'rid'), 0, 'no hold is left off its booking''s stay');

-- 5. An arrived or finished party's state moves only by cancelling.
select tests.create_booking(:'rid', 2, '2030-08-10 18:00+00') as seated \gset
select ops.assign_tables(:'seated', array['B2'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
update public.bookings set status = 'checked_in' where id = :'seated';
reset role;
select throws_ok(format($$select public.transition_assignment_state(%L, 'assignment_pending', %s)$$,
                        :'seated', tests.version_of(:'seated')),
  'AS001', null, 'a checked-in booking is not sent back for new tables through the API');
select is((select count(*)::int from public.booking_table_assignments where booking_id = :'seated' and released_at is null), 1,
  'its party keeps the table it sits at');
set local role service_role;
select lives_ok(format($$select public.cancel_booking(%L, 'guest left')$$, :'seated'),
  'cancelling it is still possible');
reset role;

select * from finish();
rollback;
