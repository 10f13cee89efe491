-- A booking marked no_show is never moved by re-optimisation (20261227010000); the platform writes statuses
-- through service_role.
begin;
select plan(4);

select tests.create_restaurant('Missed') as rid \gset
select tests.add_table(:'rid', 'T1', 4) as t1 \gset
select tests.create_booking(:'rid', 2, '2030-06-03 19:00+00') as b \gset
select ops.assign_tables(:'b', array['T1'], 'ana') ->> 'outcome' as confirmed \gset

select ok(not private.is_locked(b, false), 'a confirmed booking ahead may move')
  from public.bookings b where b.id = :'b';

set local role service_role;
update public.bookings set status = 'no_show' where id = :'b';
reset role;
select ok(private.is_locked(b, false), 'marked no_show, it may not')
  from public.bookings b where b.id = :'b';

set local role service_role;
update public.bookings set status = 'confirmed' where id = :'b';
reset role;
select ok(not private.is_locked(b, false), 'back to confirmed, it may move again')
  from public.bookings b where b.id = :'b';

set local role service_role;
update public.bookings set status = 'no_show' where id = :'b';
update public.bookings set start_at = start_at + interval '150 minutes' where id = :'b';
reset role;
select ok(private.is_locked(b, false), 'missed again, not even once a platform has moved its time later')
  from public.bookings b where b.id = :'b';

select * from finish();
rollback;
