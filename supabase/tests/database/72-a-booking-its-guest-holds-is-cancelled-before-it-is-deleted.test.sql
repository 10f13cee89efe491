-- A booking its guest holds is cancelled before it is deleted (20261226050000, 20261231130000). The platform
-- deletes as it would: through service_role.
begin;
select plan(14);

create function pg_temp.exists(p_booking uuid) returns boolean language sql as
  $$ select exists (select 1 from public.bookings where id = p_booking) $$;

select tests.create_restaurant('Forget me') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as held \gset
select ops.assign_tables(:'held', array['T1'], 'ana') ->> 'outcome' as confirmed \gset

set local role service_role;
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'held')), 'AS001',
  'a confirmed booking still ahead cannot be deleted (AS001)');
reset role;
select ok(pg_temp.exists(:'held'), 'it is still there, its guest still holding it');
select throws_like(format($$set local role service_role; delete from public.bookings where id = %L$$, :'held'),
  '%cancel it first (public.cancel_booking)%', 'the error says what to do instead');

-- Cancelled first (the guest is told), then deleted.
set local role service_role;
select public.cancel_booking(:'held', 'guest asked to be forgotten') ->> 'outcome' as cancelled \gset
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'held')), null, 'once cancelled it may be deleted');
reset role;
select ok(not pg_temp.exists(:'held'), 'and is gone');

-- Planned again after a change, its guest holding the old confirmation: held too.
select tests.create_booking(:'rid', 2, '2030-06-04 19:00+00') as changed \gset
select ops.assign_tables(:'changed', array['T1'], 'ana') ->> 'outcome' as confirmed \gset
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'changed';
set local role service_role;
update public.bookings set party_size = 3 where id = :'changed';
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'changed')), 'AS001',
  'a booking planned again whose guest heard of it cannot be deleted either');

-- One nobody has heard of yet may go.
select tests.create_booking(:'rid', 2, '2030-06-05 19:00+00') as fresh \gset
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'fresh')), null,
  'a booking no guest has heard of may be deleted');
reset role;

-- A visit marked completed (or missed) once its start has passed is over for its guest: it may go, its end
-- still ahead or not.
select tests.create_booking(:'rid', 2, now() - interval '30 minutes') as visited \gset
select tests.force_state(:'visited', 'confirmed');
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'visited';
set local role service_role;
update public.bookings set status = 'completed' where id = :'visited';
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'visited')), null,
  'a visit marked completed after its start may be deleted, its end still ahead');
reset role;
-- Marked so before its start, it is still its guest's (20261231130000): the guest holds a confirmation and
-- would never hear of it.
select tests.create_booking(:'rid', 2, '2030-06-07 19:00+00') as early \gset
select ops.assign_tables(:'early', array['T1'], 'ana') ->> 'outcome' as confirmed \gset
update public.notification_outbox set status = 'sent', sent_at = now() where booking_id = :'early';
set local role service_role;
update public.bookings set status = 'no_show' where id = :'early';
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'early')), 'AS001',
  'a visit marked missed before its start cannot be deleted');
update public.bookings set status = 'completed' where id = :'early';
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'early')), 'AS001',
  'nor one marked completed before it');
select throws_like(format('delete from public.bookings where id = %L', :'early'),
  '%marked completed before its start%delete it once its start has passed',
  'the refusal says to wait for the start, not to cancel a visit that took place');
reset role;

-- The database owner (the SQL editor, migrations) is not held to it.
select tests.create_booking(:'rid', 2, '2030-06-08 19:00+00') as owners \gset
select ops.assign_tables(:'owners', array['T1'], 'ana') ->> 'outcome' as confirmed \gset
select is(tests.sqlstate_of(format('delete from public.bookings where id = %L', :'owners')), null,
  'the owner may delete a held booking');

-- A restaurant deleted takes its bookings with it, held ones included.
select tests.create_booking(:'rid', 2, '2030-06-06 19:00+00') as last \gset
select ops.assign_tables(:'last', array['T1'], 'ana') ->> 'outcome' as confirmed \gset
set local role service_role;
select is(tests.sqlstate_of(format('delete from public.restaurants where id = %L', :'rid')), null,
  'a restaurant deleted takes its bookings with it');
reset role;
select ok(not pg_temp.exists(:'last'), 'held ones included');

select * from finish();
rollback;
