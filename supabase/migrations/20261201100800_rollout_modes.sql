

-- A restaurant's place in the rollout: a stable number 0–99 from a salted hash of its id. A restaurant is
-- in when bucket < percentage, so raising the percentage never drops one that was already in.
create function private.rollout_bucket(p_restaurant_id uuid, p_salt text)
returns integer language sql immutable set search_path = '' as $$
  select (('x' || pg_catalog.substr(pg_catalog.md5(p_salt || ':' || p_restaurant_id::text), 1, 8))::bit(32)::bigint % 100)::integer;
$$;

create function private.effective_mode(p_restaurant_id uuid)
returns table (mode text, reason text) language sql stable set search_path = '' as $$
  select case
           when o.mode = 'off' then 'off'
           when s.kill_switch then 'legacy'
           when o.mode is not null then o.mode
           when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then 'v3'
           else s.default_mode
         end,
         case
           when o.mode = 'off' then 'restaurant override'
           when s.kill_switch then 'kill switch: ' || s.kill_switch_reason
           when o.mode is not null then 'restaurant override'
           when private.rollout_bucket(p_restaurant_id, s.rollout_salt) < s.rollout_percentage then
             pg_catalog.format('rollout: bucket %s < %s%%', private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
           else pg_catalog.format('default mode (bucket %s is outside the %s%% rollout)',
                                  private.rollout_bucket(p_restaurant_id, s.rollout_salt), s.rollout_percentage)
         end
    from private.rollout_settings s
    left join private.restaurant_pipeline_settings o on o.restaurant_id = p_restaurant_id;
$$;

-- The mode an attempt runs in: the restaurant's effective mode, lowered (never raised) by the calling
-- function's feature flags (p_mode_ceiling: null, 'shadow' or 'legacy'; see assignment_begin).
create function private.decide_mode(p_restaurant_id uuid, p_mode_ceiling text)
returns table (mode text, reason text) language sql stable set search_path = '' as $$
  select case when capped then p_mode_ceiling else m.mode end,
         case when capped then 'capped by the function''s feature flags (' || m.reason || ')' else m.reason end
    from private.effective_mode(p_restaurant_id) m,
         lateral (select p_mode_ceiling = 'legacy' and m.mode in ('shadow', 'v3')
                         or p_mode_ceiling = 'shadow' and m.mode = 'v3' as capped) c;
$$;

-- Events of an attempt are named for the path that runs it. V3 (and off) write the rollout plan's
-- coordinator.* events under source assignment.coordinator. The legacy path writes the first
-- implementation's auto_assign.* events under source auto_assign (private.legacy_event_name), so the plan's
-- shadow-phase checks hold ("only auto_assign.* events", "no assignment.coordinator.* events") and its
-- coordinator dashboards count V3 alone. Callers always name the V3 event. State transitions keep source
-- assignment.state_machine in every mode: the state machine is shared.
create function private.pipeline_event_name(p_mode text, p_event_type text)
returns table (source text, event_type text) language sql immutable set search_path = '' as $$
  select case when private.legacy_path(p_mode) then 'auto_assign' else 'assignment.coordinator' end,
         case when private.legacy_path(p_mode) then private.legacy_event_name(p_event_type) else p_event_type end;
$$;

-- The mode of a booking's current or last attempt (null before its first).
create function private.booking_mode(p_booking_id uuid)
returns text language sql stable set search_path = '' as $$
  select b.assignment_mode from public.bookings b where b.id = p_booking_id;
$$;

create function private.record_pipeline_event(p_mode text, p_event_type text, p_severity text, p_context jsonb,
                                              p_restaurant_id uuid, p_booking_id uuid)
returns void language sql set search_path = '' as $$
  select private.record_event(n.source, n.event_type, p_severity,
           case when p_mode is null then coalesce(p_context, '{}'::jsonb)
                else pg_catalog.jsonb_build_object('mode', p_mode) || coalesce(p_context, '{}'::jsonb) end,
           p_restaurant_id, p_booking_id)
    from private.pipeline_event_name(p_mode, p_event_type) n;
$$;

-- A booking escalated to manual review, told in its path's terms: coordinator.manual_review for V3; for
-- legacy and shadow the first implementation's auto_assign.failed plus the auto_assign.summary every
-- legacy run ends with (result "exhausted"), so the plan's "compare success rates" query sees one
-- summary per legacy booking. p_severity: 'error' where the escalation means something is broken (the
-- coordinator unreachable, a booking deferred past its bound), else 'warning'.
create function private.record_escalation(p_mode text, p_reason text, p_attempts integer, p_duration_ms integer,
                                          p_context jsonb, p_restaurant_id uuid, p_booking_id uuid,
                                          p_severity text default 'warning')
returns void language plpgsql set search_path = '' as $$
declare
  code text := pg_catalog.split_part(p_reason, ':', 1);
begin
  if private.legacy_path(p_mode) then
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      private.legacy_escalation_context(code, p_attempts) || coalesce(p_context, '{}'::jsonb),
      p_restaurant_id, p_booking_id);
    perform private.record_pipeline_event(p_mode, 'coordinator.summary', p_severity,
      private.legacy_summary_context('exhausted', p_attempts, p_duration_ms, code), p_restaurant_id, p_booking_id);
  else
    perform private.record_pipeline_event(p_mode, 'coordinator.manual_review', p_severity,
      pg_catalog.jsonb_build_object('reason', code, 'detail', p_reason, 'attempts', p_attempts,
                                    'duration_ms', p_duration_ms) || coalesce(p_context, '{}'::jsonb),
      p_restaurant_id, p_booking_id);
  end if;
end $$;

create function private.record_shadow(b public.bookings, p_shadow jsonb)
returns void language sql set search_path = '' as $$
  insert into public.shadow_comparisons (booking_id, restaurant_id, experiment, primary_strategy, candidate_strategy,
    primary_decision, candidate_decision, primary_tables, candidate_tables, score_diff, primary_ms, candidate_ms,
    candidate_error)
  select b.id, b.restaurant_id, p_shadow ->> 'experiment', p_shadow ->> 'primary_strategy',
         p_shadow ->> 'candidate_strategy', p_shadow ->> 'primary_decision', p_shadow ->> 'candidate_decision',
         coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'primary_tables') x), '{}'),
         coalesce((select pg_catalog.array_agg(x::uuid) from pg_catalog.jsonb_array_elements_text(p_shadow -> 'candidate_tables') x), '{}'),
         (p_shadow ->> 'score_diff')::numeric, (p_shadow ->> 'primary_ms')::numeric, (p_shadow ->> 'candidate_ms')::numeric,
         private.scrub_personal_data(pg_catalog.left(p_shadow ->> 'candidate_error', 500))
   where p_shadow is not null and b.assignment_mode = 'shadow';
$$;

-- Nothing of private is callable by the API roles (it is all ours, so the whole schema is closed).
revoke all on all routines in schema private from public, anon, authenticated;
