-- A blank is blank whatever white space it is made of (20261228090000): who acts, and why a kill switch is
-- pulled or a breaker closed, must be said, and a tab, a line break, a no-break or zero-width space is not
-- saying it. Called as an operator's tool calls them, through the Data API's role.
begin;
select plan(10);

select tests.create_restaurant() as rid \gset
select tests.create_booking(:'rid', 2, '2030-09-07 19:00+00') as b \gset
insert into private.circuit_breakers (restaurant_id, state, consecutive_failures, opened_at)
values (:'rid', 'open', 5, now())
on conflict (restaurant_id) do update set state = 'open', consecutive_failures = 5, opened_at = now();

set local role service_role;
select throws_ok($$select ops.set_kill_switch(true, E'\t', 'the new release double-books')$$, 'AS005', null,
  'a tab is no one acting');
select throws_ok($$select ops.set_kill_switch(true, U&'\00A0\200B', 'the new release double-books')$$, 'AS005', null,
  'nor are a no-break and a zero-width space');
select throws_ok($$select ops.set_kill_switch(true, 'ana', E'\n\t')$$, 'AS005', 'give a reason when pulling the kill switch',
  'a line break is no reason to pull the kill switch');
select throws_ok(format($$select ops.reset_circuit_breaker(%L, 'ana', U&'\2028 \FEFF')$$, :'rid'), 'AS005', null,
  'nor to close a breaker');
reset role;
select is((select array[kill_switch::text, state] from private.rollout_settings, private.circuit_breakers
            where restaurant_id = :'rid'), array['false', 'open'], 'so nothing changed');

set local role service_role;
select is(ops.cancel_booking(:'b', E'\t', E' ana\n') ->> 'to', 'cancelled', 'a cancellation with a blank reason is taken');
reset role;
select is((select reason from public.booking_assignment_state_history where booking_id = :'b' and to_state = 'cancelled'),
  'cancelled by ops', 'with the reason every blank one gets');
select is((select actor from public.booking_assignment_state_history where booking_id = :'b' and to_state = 'cancelled'),
  'ana', 'and who acted, without the white space around the name');

-- The reason kept is the reason given: blanks before it are not kept in its place (act_as keeps 500 characters).
set local role service_role;
select ops.set_kill_switch(true, 'ana', repeat(' ', 600) || U&'\200B' || 'the new release double-books') is not null as pulled \gset
reset role;
select is((select kill_switch_reason from private.rollout_settings), 'the new release double-books',
  'a reason after 600 blanks is kept, not the blanks');
set local role service_role;
select ops.reset_circuit_breaker(:'rid', E'\t ana \n', E'\t the fix is deployed ') is not null as reset \gset
reset role;
select is((select array[actor, reason] from public.pipeline_settings_audit
            where setting = 'circuit_breaker' and scope = :'rid' order by id desc limit 1),
  array['ana', 'the fix is deployed'], 'a breaker closed keeps who and why in its audit without the white space');

select * from finish();
rollback;
