-- A shadow comparison names its strategies and nothing else.
--
-- The coordinator reports, for a booking in shadow mode, what the primary and the candidate strategy each
-- decided (p_shadow of assignment_commit and assignment_fail), and private.record_shadow keeps it in
-- public.shadow_comparisons. The strategy names went in as given: any holder of service_role could store an
-- e-mail address or a phone number there (a commit with '{"primary_strategy": "jane.doe@example.com", ...}'
-- was confirmed and its comparison kept the address), where every other text a caller can write is
-- refused or scrubbed. The commit's own strategy was already held to the engine's names
-- ('^[a-z][a-z0-9_]{0,39}$', AS005).
--
-- Both strategy columns now hold to the same names. A comparison that does not is not stored: record_shadow
-- drops it and says so (coordinator.shadow_dropped, with the SQLSTATE), as for any comparison it cannot store,
-- and the booking's own commit or failure goes on. Rows already stored with another name keep their
-- measurement under the name 'unknown'.

update public.shadow_comparisons set primary_strategy = 'unknown'
 where primary_strategy !~ '^[a-z][a-z0-9_]{0,39}$';
update public.shadow_comparisons set candidate_strategy = 'unknown'
 where candidate_strategy !~ '^[a-z][a-z0-9_]{0,39}$';

-- Not validated again: the rows were made to hold to it just above, and a validation would read the whole
-- table under the lock the constraint takes, holding back every shadow booking's commit meanwhile.
alter table public.shadow_comparisons
  add constraint shadow_primary_strategy_is_a_strategy_name
    check (primary_strategy ~ '^[a-z][a-z0-9_]{0,39}$') not valid,
  add constraint shadow_candidate_strategy_is_a_strategy_name
    check (candidate_strategy ~ '^[a-z][a-z0-9_]{0,39}$') not valid;
