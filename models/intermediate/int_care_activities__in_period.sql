-- Interventions (care activities) of the period's care contacts, plus orphans whose appointment is
-- missing from the warehouse (kept so validation reports them).
select
    intervention.intervention_id,
    intervention.appointment_id,
    intervention.staff_id,
    intervention.duration_minutes,
    intervention.procedure_snomed,
    intervention.finding_scheme_local,
    intervention.finding_scheme_national,
    intervention.is_finding_scheme_mapped,
    intervention.finding_code,
    intervention.observation_snomed,
    intervention.observation_value,
    intervention.observation_unit
from {{ ref('stg_appointment_intervention') }} as intervention
where {{ in_scope_or_orphan(
    'intervention.appointment_id',
    ref('int_care_contacts__in_period'),
    ref('stg_appointment'),
    'appointment_id'
) }}
