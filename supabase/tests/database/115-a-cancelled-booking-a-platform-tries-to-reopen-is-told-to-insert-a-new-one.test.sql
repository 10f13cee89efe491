-- A cancelled booking a platform tries to reopen is refused with a hint that says what to do (20261229030000);
-- the platform writes through service_role.
begin;
select plan(3);

select tests.create_restaurant('Reopened') as rid \gset
select tests.add_table(:'rid', 'T1', 4) is not null as tabled \gset
select tests.create_booking(:'rid', 2, '2030-04-02 19:00+00') as bid \gset
select tests.give_table(:'bid') is not null as given \gset
-- The SQLSTATE and hint of a statement run as the platform's role.
create function pg_temp.refusal(p_sql text) returns text[] language plpgsql as $$
declare state text; hint text;
begin
  set local role service_role;
  execute p_sql;
  reset role;
  return null;
exception when others then
  get stacked diagnostics state = returned_sqlstate, hint = pg_exception_hint;
  reset role;
  return array[state, hint];
end $$;

set local role service_role;
select public.cancel_booking(:'bid', 'guest cancelled', 'platform') is not null as cancelled \gset
reset role;
select is((select array[status, assignment_state] from public.bookings where id = :'bid'), array['cancelled', 'cancelled'],
  'the booking is cancelled');
select is(pg_temp.refusal(format($$update public.bookings set status = 'pending' where id = %L$$, :'bid')),
  array['AS011', 'A cancelled booking stays cancelled: insert a new booking for the guest.'],
  'set back to pending, it is refused, told to insert a new booking');
select is((select array[status, assignment_state] from public.bookings where id = :'bid'), array['cancelled', 'cancelled'],
  'and stays cancelled');

select * from finish();
rollback;
