-- The legacy path: the first implementation's behaviour, kept as the rollout's baseline, as shadow mode's
-- primary and as the kill switch's target. Everything in which it differs from V3 is decided here: which
-- modes take it, its fixed retry loop (4 attempts, 5 s / 15 s / 45 s apart, every failure retried), and
-- the auto_assign.* events it writes. Retiring it after a week at 100 % is deleting this file and the
-- `private.legacy_path(…)` branches that call it (private.pipeline_event_name, private.record_escalation,
-- private.end_attempt, public.assignment_begin, public.assignment_commit).

-- Legacy runs the assignment itself, and in shadow mode it is the primary that assigns.
create function private.legacy_path(p_mode text)
returns boolean language sql immutable set search_path = '' as $$
  select coalesce(p_mode in ('legacy', 'shadow'), false);
$$;

create function private.legacy_max_attempts()
returns integer language sql immutable set search_path = '' as $$
  select 4;
$$;

-- The first implementation's event for a coordinator.* event (source auto_assign):
--   coordinator.start → auto_assign.attempt.start    coordinator.retry → auto_assign.retry_scheduled
--   coordinator.error → auto_assign.attempt_error    coordinator.manual_review → auto_assign.failed
--   coordinator.confirmed → auto_assign.succeeded    any other coordinator.<x> → auto_assign.<x>
create function private.legacy_event_name(p_event_type text)
returns text language sql immutable set search_path = '' as $$
  select case p_event_type
           when 'coordinator.start' then 'auto_assign.attempt.start'
           when 'coordinator.retry' then 'auto_assign.retry_scheduled'
           when 'coordinator.error' then 'auto_assign.attempt_error'
           when 'coordinator.manual_review' then 'auto_assign.failed'
           when 'coordinator.confirmed' then 'auto_assign.succeeded'
           else 'auto_assign.' || pg_catalog.regexp_replace(p_event_type, '^coordinator\.', '')
         end;
$$;

-- After a failed attempt: escalate once the attempts are used up (whatever failed), else retry after the
-- fixed delay for this attempt.
create function private.legacy_retry(b public.bookings, p_reason text)
returns table (escalate_reason text, delay_ms integer) language sql immutable set search_path = '' as $$
  select case when b.attempt_count >= private.legacy_max_attempts()
              then pg_catalog.format('attempts_exhausted: %s attempts failed; last: %s', b.attempt_count, p_reason) end,
         (array[5000, 15000, 45000])[least(greatest(b.attempt_count, 1), 3)];
$$;

-- The contexts of the first implementation's events, key for key as its dashboards read them.
create function private.legacy_attempt_context(b public.bookings, p_success boolean, p_code text default null)
returns jsonb language sql immutable set search_path = '' as $$
  select pg_catalog.jsonb_build_object('attempt_index', b.attempt_count - 1, 'success', p_success)
      || case when p_success then '{}'::jsonb else pg_catalog.jsonb_build_object('reason', p_code) end;
$$;

create function private.legacy_retry_context(b public.bookings, p_delay_ms integer, p_code text)
returns jsonb language sql immutable set search_path = '' as $$
  select pg_catalog.jsonb_build_object('delayMs', p_delay_ms, 'reason', p_code, 'attempt_index', b.attempt_count - 1);
$$;

create function private.legacy_confirmed_context(b public.bookings, p_strategy text, p_duration_ms integer,
                                                 p_lock_wait_ms numeric)
returns jsonb language sql immutable set search_path = '' as $$
  select pg_catalog.jsonb_build_object('durationMs', p_duration_ms, 'attempt_index', b.attempt_count - 1,
                                       'strategy', p_strategy, 'lock_wait_ms', p_lock_wait_ms);
$$;

-- The summary every legacy run ends with: "succeeded", or "exhausted" with the reason it stopped early.
create function private.legacy_summary_context(p_result text, p_attempts integer, p_duration_ms integer,
                                               p_code text default null)
returns jsonb language sql immutable set search_path = '' as $$
  select pg_catalog.jsonb_build_object('result', p_result, 'attemptsUsed', p_attempts,
                                       'maxAttempts', private.legacy_max_attempts(), 'totalDurationMs', p_duration_ms)
      || case when p_result = 'exhausted'
              then pg_catalog.jsonb_build_object('hardStopReason',
                     case when p_code <> 'attempts_exhausted' then p_code end)
              else '{}'::jsonb end;
$$;

create function private.legacy_escalation_context(p_code text, p_attempts integer)
returns jsonb language sql immutable set search_path = '' as $$
  select pg_catalog.jsonb_build_object('reason', p_code, 'attempts', p_attempts,
                                       'hardStopReason', case when p_code <> 'attempts_exhausted' then p_code end);
$$;

revoke all on all routines in schema private from public, anon, authenticated;
