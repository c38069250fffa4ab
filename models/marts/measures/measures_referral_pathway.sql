-- One row per reporting period and referral received by its end: the pathway dates, appointment
-- counts, paired first/last outcome scores and the 1/0 flags the headline measures add up, derived
-- from the whole history (models/intermediate/measures: the warehouse through the staging
-- interface, or the accumulated IDB submissions). Code groupings, thresholds and waits come from
-- seeds/measures.

with

referrals as (
    select * from {{ ref('int_measures__referrals') }}
),

patients as (
    select * from {{ ref('int_measures__patients') }}
),

contact_summary as (
    select * from {{ ref('int_measures__contact_summary') }}
),

outcomes as (
    select * from {{ ref('int_measures__outcomes') }}
),

referral_descriptor as (
    select
        period_start_date,
        service_request_id,
        max(problem_descriptor) as problem_descriptor
    from {{ ref('int_measures__problem_descriptor') }}
    group by period_start_date, service_request_id
),

self_referral_sources as (
    select distinct code as source_of_referral
    from {{ ref('measure_code_groups') }}
    where data_item = 'SourceOfReferralIAPT' and code_group = 'self_referral'
),

parameters as (
    select
        max(case when parameter_name = 'min_treatment_appointments_finished' then parameter_value end)
            as min_treatment_appointments,
        max(case when parameter_name = 'wait_6_weeks_days' then parameter_value end) as wait_6_weeks_days,
        max(case when parameter_name = 'wait_18_weeks_days' then parameter_value end) as wait_18_weeks_days,
        max(case when parameter_name = 'first_assessment_wait_days' then parameter_value end)
            as first_assessment_wait_days
    from {{ ref('measure_parameters') }}
),

pathway as (
    select
        referrals.service_request_id,
        referrals.local_patient_id,
        referrals.period_start_date,
        referrals.period_end_date,
        referrals.referral_received_date,
        referrals.source_of_referral,
        referrals.discharge_date,
        referrals.end_code,
        contact_summary.first_assessment_date,
        contact_summary.first_treatment_date,
        coalesce(contact_summary.treatment_appointment_count, 0) as treatment_appointment_count,
        coalesce(contact_summary.attended_contact_count, 0) as attended_contact_count,
        coalesce(contact_summary.follow_up_after_discharge_count, 0) as follow_up_after_discharge_count,
        coalesce(contact_summary.dna_contacts_in_period, 0) as dna_contacts_in_period,
        coalesce(contact_summary.due_contacts_in_period, 0) as due_contacts_in_period,
        {{ measures_days_between('referrals.referral_received_date', 'contact_summary.first_assessment_date') }}
            as days_to_first_assessment,
        {{ measures_days_between('referrals.referral_received_date', 'contact_summary.first_treatment_date') }}
            as days_to_first_treatment,
        referral_descriptor.problem_descriptor,
        outcomes.phq9_first_score,
        outcomes.phq9_last_score,
        outcomes.anxiety_tool_code,
        outcomes.anxiety_first_score,
        outcomes.anxiety_last_score,
        outcomes.has_paired_scores,
        outcomes.has_paired_scores * outcomes.is_case_at_start as is_at_caseness_start,
        outcomes.has_paired_scores * (1 - outcomes.is_case_at_start) as is_not_at_caseness_start,
        outcomes.has_paired_scores * outcomes.is_case_at_start * outcomes.is_below_caseness_at_end
            as is_recovered,
        outcomes.has_paired_scores * outcomes.has_reliable_decrease * (1 - outcomes.has_reliable_increase)
            as is_reliably_improved,
        outcomes.has_paired_scores * outcomes.has_reliable_increase * (1 - outcomes.has_reliable_decrease)
            as is_reliably_deteriorated,
        outcomes.has_paired_scores * outcomes.is_case_at_start * outcomes.is_below_caseness_at_end
        * outcomes.has_reliable_decrease * (1 - outcomes.has_reliable_increase) as is_reliably_recovered,
        case when self_referral_sources.source_of_referral is not null then 1 else 0 end as is_self_referral,
        case
            when referrals.referral_received_date between referrals.period_start_date and referrals.period_end_date
                then 1
            else 0
        end as is_referred_in_period,
        case
            when
                contact_summary.first_assessment_date
                between referrals.period_start_date and referrals.period_end_date
                then 1
            else 0
        end as is_first_assessed_in_period,
        case
            when
                contact_summary.first_treatment_date
                between referrals.period_start_date and referrals.period_end_date
                then 1
            else 0
        end as is_entered_treatment_in_period,
        case
            when referrals.discharge_date between referrals.period_start_date and referrals.period_end_date
                then 1
            else 0
        end as is_ended_in_period,
        case
            when
                referrals.discharge_date between referrals.period_start_date and referrals.period_end_date
                and coalesce(contact_summary.treatment_appointment_count, 0) >= parameters.min_treatment_appointments
                then 1
            else 0
        end as is_finished_treatment,
        patients.ethnic_category_code,
        patients.gender_identity_code,
        patients.stated_gender_code,
        patients.ex_armed_forces_code,
        patients.preferred_language_code,
        {{ measures_age_in_years('patients.birth_date', 'referrals.referral_received_date') }} as age_at_referral
    from referrals
    cross join parameters
    left join patients
        on
            referrals.period_start_date = patients.period_start_date
            and referrals.local_patient_id = patients.local_patient_id
    left join contact_summary
        on
            referrals.period_start_date = contact_summary.period_start_date
            and referrals.service_request_id = contact_summary.service_request_id
    left join referral_descriptor
        on
            referrals.period_start_date = referral_descriptor.period_start_date
            and referrals.service_request_id = referral_descriptor.service_request_id
    left join outcomes
        on
            referrals.period_start_date = outcomes.period_start_date
            and referrals.service_request_id = outcomes.service_request_id
    left join self_referral_sources
        on referrals.source_of_referral = self_referral_sources.source_of_referral
),

-- The age band of each distinct age at referral: the range join runs over a few ages, not over
-- every referral.
referral_ages as (
    select distinct age_at_referral
    from pathway
),

referral_age_bands as (
    select
        referral_ages.age_at_referral,
        age_bands.age_band
    from referral_ages
    inner join {{ ref('age_bands') }} as age_bands
        on referral_ages.age_at_referral between age_bands.min_age and age_bands.max_age
),

final as (
    select
        pathway.*,
        case when pathway.days_to_first_treatment <= parameters.wait_6_weeks_days then 1 else 0 end
            as is_treated_within_6_weeks,
        case when pathway.days_to_first_treatment <= parameters.wait_18_weeks_days then 1 else 0 end
            as is_treated_within_18_weeks,
        case when pathway.days_to_first_assessment <= parameters.first_assessment_wait_days then 1 else 0 end
            as is_assessed_within_28_days,
        referral_age_bands.age_band
    from pathway
    cross join parameters
    left join referral_age_bands
        on pathway.age_at_referral = referral_age_bands.age_at_referral
)

select * from final
