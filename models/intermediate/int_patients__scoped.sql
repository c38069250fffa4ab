-- Patients in the month's submission: those with at least one in-scope referral.
select
    patient_id,
    count(*) as in_scope_referrals
from {{ ref('int_referrals__scoped') }}
where is_in_scope = {{ sql_true() }} and patient_id is not null
group by patient_id
