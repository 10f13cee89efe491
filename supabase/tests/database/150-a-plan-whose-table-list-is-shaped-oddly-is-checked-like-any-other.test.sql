-- A list of tables whose first element is not at position 1 ('[0:0]={<table>}', '{{<table>}}') is checked by
-- the seating rules like any other list, and the commit refuses it before writing anything (20261231300000).
begin;
select plan(11);

-- A party of six; a 2-seat table, and two 4-seat tables that join.
select tests.create_restaurant('Odd lists') as rid \gset
select tests.add_table(:'rid', 'T1', 2) as t1 \gset
select tests.add_table(:'rid', 'T2', 4) as t2 \gset
select tests.add_table(:'rid', 'T3', 4) as t3 \gset
insert into public.table_adjacency (restaurant_id, table_a, table_b)
values (:'rid', least(:'t2'::uuid, :'t3'::uuid), greatest(:'t2'::uuid, :'t3'::uuid));
select tests.create_booking(:'rid', 6, '2030-07-01 19:00+00') as six \gset

-- As the Data API runs a caller's call.
set local role service_role;
select tests.lease_token(public.assignment_begin(:'six')) as lease \gset
select throws_ok(
  format($$select public.assignment_commit(%L, %L, %L::uuid[], 'first_fit')$$, :'six', :'lease', '[0:0]={' || :'t1' || '}'),
  'AS005', null, 'a one-table list from position 0 is refused at the door');
select throws_ok(
  format($$select public.assignment_commit(%L, %L, %L::uuid[], 'first_fit')$$, :'six', :'lease', '{{' || :'t1' || '}}'),
  'AS005', null, 'so is a list in two dimensions');
select throws_ok(
  format($$select public.assignment_commit(%L, %L, %L::uuid[], 'first_fit')$$, :'six', :'lease',
         '[2:3]={' || :'t2' || ',' || :'t3' || '}'),
  'AS005', null, 'and a list of two from position 2, though those two tables would seat the party');
reset role;
select is((select assignment_state from public.bookings where id = :'six'), 'assignment_in_progress',
          'the booking is still in progress under its lease');
select is(tests.tables_held(:'six'), null, 'and holds no table');

-- The rules themselves, for every caller of them, read the list from 1 whatever its shape ('none': no rule
-- broken).
select coalesce(private.table_rule_violation(b, ('[0:0]={' || :'t1' || '}')::uuid[], 4), 'none') as bounded,
       coalesce(private.table_rule_violation(b, ('{{' || :'t1' || '}}')::uuid[], 4), 'none') as nested,
       coalesce(private.table_rule_violation(b, ('[5:6]={' || :'t2' || ',' || :'t3' || '}')::uuid[], 4), 'none') as joined,
       coalesce(private.table_rule_violation(b, ('[5:6]={' || :'t1' || ',' || :'t3' || '}')::uuid[], 4), 'none') as apart
  from public.bookings b where b.id = :'six' \gset
select alike(:'bounded'::text, 'party_size_out_of_range:%', 'a party of six at a 2-seat table breaks a rule, listed from 0');
select alike(:'nested'::text, 'party_size_out_of_range:%', 'or listed in two dimensions');
select is(:'joined'::text, 'none', 'two joined 4-seat tables seat six, listed from 5');
select alike(:'apart'::text, 'not_adjacent:%', 'two tables that do not join are refused, listed from 5');

-- The same plan as a plain list is committed.
set local role service_role;
select is(public.assignment_commit(:'six', :'lease', array[:'t2', :'t3']::uuid[], 'first_fit') ->> 'outcome',
          'confirmed', 'the plain list of the two joined tables confirms the booking');
reset role;
select is(tests.tables_held(:'six'), 'T2+T3', 'on those two tables');

select * from finish();
rollback;
