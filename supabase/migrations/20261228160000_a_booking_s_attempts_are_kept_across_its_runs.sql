-- A booking's attempts are kept across its runs.
--
-- public.booking_assignment_attempts holds one row per attempt, numbered by the booking's attempt_count and
-- written with `on conflict (booking_id, attempt_no) do update`. A booking queued again (an operator's retry of a
-- review, a change after its confirmation, a floor-plan re-check) starts its count over at 0, so its new run's
-- attempt 1 overwrote the last run's attempt 1, and so on: a run that errored and went to review, then was
-- retried by an operator and confirmed, left its errors erased. ops.pipeline_metrics' error and success rates,
-- and the rollout gates that read them (the plan's "error rate < 1 %" and "success ≥ 97 %"), then read too
-- well, exactly where an operator had to step in (an attacker's review of the seeds' observability). Each
-- attempt now gets a row of its own, numbered after the booking's last; one attempt ends once, under the
-- booking's lock, so nothing is overwritten. The attempt within its run stays in the booking's attempt_count
-- and in the events' `attempt`.
-- private.record_attempt: body as in 20261204010000, with that numbering.

create or replace function private.record_attempt(b public.bookings, p_result text, p_reason text, p_strategy text, p_duration_ms integer, p_metadata jsonb)
 returns void
 language plpgsql
 set search_path = ''
as $$
#variable_conflict use_column
begin
  insert into public.booking_assignment_attempts (booking_id, attempt_no, strategy, result, reason, duration_ms, metadata)
    values (b.id, coalesce((select max(a.attempt_no) from public.booking_assignment_attempts a where a.booking_id = b.id), 0) + 1,
            p_strategy, p_result, p_reason, p_duration_ms, coalesce(p_metadata, '{}'::jsonb));
end $$;

comment on table public.booking_assignment_attempts is
  'One row per pipeline attempt on a booking and how it ended, attempt_no counting over the booking''s life (every run''s attempts, a run after a requeue after the last).';
