-- Found by a review of liveness (20261209030000, 20261209040000, 20261209050000): a cut reason that stopped
-- every begin, a booking whose begin always fails and was never escalated while claim loops ran, and the
-- escalation's wording.
begin;
select plan(12);

select tests.create_restaurant('Liveness') as rid \gset
select tests.add_table(:'rid', 'L1', 4) as l1 \gset

-- A long kill-switch reason whose cut would end in eight digits: the switch still routes bookings, and
-- begins still start (the mode reason, with the switch's reason, is in the coordinator.start event).
select ops.set_kill_switch(true, 'ana', repeat('x', 481) || ' see build 20261202T153000Z and more') is not null as on \gset
select ok((select kill_switch_reason from private.rollout_settings) !~ '[0-9]{8}',
  'the stored reason holds no run of digits the cut made');
select ok(not private.text_has_personal_data((select kill_switch_reason from private.rollout_settings)),
  'and no personal data');
select tests.create_booking(:'rid', 2, '2030-03-04 19:00+00') as b1 \gset
select is(public.assignment_begin(:'b1') ->> 'outcome', 'ready', 'a booking still begins with the switch on');
select is(private.scrub_and_cut(repeat('x', 481) || ' see build 20261202T153000Z and more', 500),
  repeat('x', 481) || ' see build', 'the cut drops the word it would split');
select ops.set_kill_switch(false, 'ana') is not null as off \gset

-- A claim counts as a dispatch; a begin that starts sets the count back.
select tests.create_booking(:'rid', 2, '2030-03-05 19:00+00') as b2 \gset
update public.bookings set next_attempt_at = now() - interval '1 second' where id = :'b2';
select is(public.assignment_claim_due(10, :'rid'), array[:'b2']::uuid[], 'a due booking is claimed');
select is((select dispatch_count from public.bookings where id = :'b2'), 1, 'and the claim counts as a dispatch');
select is(public.assignment_begin(:'b2') ->> 'outcome', 'ready', 'its begin starts');
select is((select dispatch_count from public.bookings where id = :'b2'), 0, 'and sets the count back');

-- A booking handed out max_dispatches times without an attempt beginning is no longer claimed; the sweeper
-- escalates it, saying what may have happened.
select tests.create_booking(:'rid', 2, '2030-03-06 19:00+00') as b3 \gset
update public.bookings set next_attempt_at = now() - interval '1 second',
       dispatch_count = (private.settings_for(null)).max_dispatches - 1 where id = :'b3';
select is(public.assignment_claim_due(10, :'rid'), array[:'b3']::uuid[], 'claimed a last time');
select is(public.assignment_claim_due(10, :'rid', 10000, now() + interval '1 minute'), array[]::uuid[],
  'then, due again, it is left for the sweeper');
-- No nudge waits in pg_net's queue a minute later (on the database the integration tests filled, the suite's
-- second pass, some may), or the reason would point at pg_net instead, as it should then.
delete from net.http_request_queue;
select private.sweep(now() + interval '1 minute') is not null as swept \gset
select is((select assignment_state from public.bookings where id = :'b3'), 'manual_review', 'which escalates it');
select alike((select manual_review_reason from public.bookings where id = :'b3'),
  'coordinator_unreachable: dispatched 12 times since % without an attempt beginning (the coordinator did not answer, or its assignment_begin failed%',
  'with a reason that names both causes');

select * from finish();
rollback;
