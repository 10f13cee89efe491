begin;
select plan(17);

-- The coordinator's RPCs wait at most 5 s for a lock; the guest-message calls keep waiting (a send whose
-- result could not be recorded would go again). (The wait itself: integration test lock_waits.)
select is((select array_agg(p.proname::text order by p.proname) from pg_proc p
            where p.pronamespace = 'public'::regnamespace and 'lock_timeout=5s' = any(p.proconfig)),
  array['assignment_begin', 'assignment_claim_due', 'assignment_commit', 'assignment_fail', 'assignment_lease',
        'review_offer_reseating', 'review_reseating_due', 'review_reseating_probes'],
  'the coordinator''s RPCs wait at most 5 s for a lock');
select is((select count(*)::int from pg_proc p where p.pronamespace = 'public'::regnamespace
            and p.proname in ('notification_claim', 'notification_complete', 'assignment_snapshot', 'assignment_sweep_now')
            and exists (select 1 from unnest(p.proconfig) c where c like 'lock_timeout=%')), 0,
  'the guest-message calls, the lock-free snapshot and the hand-over sweep (its failed rows go to review) wait as the session does');

-- ops.health and ops.pipeline_metrics refuse a clock or window they cannot measure, for the Data API's role too.
set local role service_role;
select throws_ok($$ select ops.health(p_now => 'infinity') $$, 'AS005', 'p_now must be a finite time, not infinity',
  'health refuses an infinite clock');
select throws_ok($$ select ops.health(null) $$, 'AS005', 'p_now must be a finite time, not null', 'and a null one');
select ok(ops.health() ? 'checked_at', 'health answers for now, as before');
reset role;
-- A part it cannot read (Vault, here gone) is its answer: down, with the error among the problems.
alter view vault.decrypted_secrets rename to decrypted_secrets_hidden;
set local role service_role;
select is((ops.health() ->> 'status', ops.health() -> 'problems' ->> 0),
  ('down'::text, 'health could not be read in full: relation "vault.decrypted_secrets" does not exist (SQLSTATE 42P01)'::text),
  'health that cannot read Vault says down and why, instead of failing');
reset role;
alter view vault.decrypted_secrets_hidden rename to decrypted_secrets;
set local role service_role;
select throws_ok($$ select ops.pipeline_metrics(null, now()) $$, 'AS005', 'p_from must be a finite time, not null',
  'metrics refuse a null start');
select throws_ok($$ select ops.pipeline_metrics(now() - interval '1 hour', 'infinity') $$, 'AS005',
  'p_to must be a finite time, not infinity', 'an infinite end');
select throws_like($$ select ops.pipeline_metrics(now(), now() - interval '1 hour') $$, 'p_from (%) must be before p_to (%)',
  'and a window that ends before it starts');
select throws_like($$ select ops.pipeline_metrics(now(), now()) $$, 'p_from (%) must be before p_to (%)',
  'or one of no length');
select is((ops.pipeline_metrics(now() - interval '1 hour', now() + interval '1 hour', gen_random_uuid())) ->> 'bookings', '0',
  'a window answers as before');
select ok((ops.pipeline_metrics()) ? 'latency_ms', 'and so do the defaults');
reset role;
select is((select count(*)::int from information_schema.role_routine_grants g
            where g.routine_schema = 'private' and g.routine_name in ('health_unchecked', 'pipeline_metrics_unchecked')
              and g.grantee in ('service_role', 'anon', 'authenticated', 'PUBLIC')), 0,
  'the bodies behind them are nobody''s to call but the owner''s');

-- The rollout log keeps at least 90 days.
set local role service_role;
select throws_ok($$ select ops.set_retention('pipeline_settings_audit', 89, 'ana') $$, 'AS005',
  'the rollout log (pipeline_settings_audit) keeps at least 90 days', 'the rollout log cannot be kept under 90 days');
select is((ops.set_retention('pipeline_settings_audit', 90, 'ana')) is not null, true, '90 days is allowed');
select is((ops.set_retention('observability_events', 1, 'ana')) is not null, true, 'events may still be kept a day');
reset role;
select is((select audit_retention_days from private.rollout_settings), 90, 'the setting holds');

select * from finish();
rollback;
