-- One row per referral (IDS101) in the IDB: the pathway dates, appointment counts, paired
-- first/last outcome scores and the 1/0 flags the headline measures add up.
-- Built from the IDB marts only; code groupings, thresholds and waits come from seeds/measures.

with

header as (
    select
        ReportingPeriodStartDate as period_start_date,
        ReportingPeriodEndDate as period_end_date
    from {{ ref('IDS000Header') }}
),

referrals as (
    select
        ServiceRequestId as service_request_id,
        LocalPatientId as local_patient_id,
        ReferralRequestReceivedDate as referral_received_date,
        SourceOfReferralIAPT as source_of_referral,
        EndCode as end_code,
        ServDischDate as discharge_date
    from {{ ref('IDS101Referral') }}
),

patients as (
    select
        LocalPatientId as local_patient_id,
        PersonBirthDate as birth_date,
        Gender as stated_gender_code,
        GenderIdentity as gender_identity_code,
        EthnicCategory as ethnic_category_code,
        ExBAFIndicator as ex_armed_forces_code,
        LanguageCodePreferred as preferred_language_code
    from {{ ref('IDS001MPI') }}
),

contacts as (
    select
        CareContactId as care_contact_id,
        ServiceRequestId as service_request_id,
        CareContDate as contact_date,
        CareContTime as contact_time,
        AttendOrDNACode as attendance_code,
        AppType as appointment_type
    from {{ ref('IDS201CareContact') }}
),

activities as (
    select
        CareActId as care_activity_id,
        CareContactId as care_contact_id
    from {{ ref('IDS202CareActivity') }}
),

activity_scores as (
    select
        CareActId as care_activity_id,
        CodedAssToolType as tool_code,
        PersScore as person_score
    from {{ ref('IDS607CodedScoreAssessmentAct') }}
),

referral_scores as (
    select
        ServiceRequestId as service_request_id,
        CodedAssToolType as tool_code,
        PersScore as person_score,
        AssToolCompDate as score_date,
        AssToolCompTime as score_time
    from {{ ref('IDS606CodedScoreAssessmentRefer') }}
),

complaints as (
    select
        ServiceRequestId as service_request_id,
        FindSchemeInUse as find_scheme,
        upper(replace(trim(PresComp), '.', '')) as problem_code,
        case when PresCompCodSig = '1' then 0 else 1 end as significance_order,
        PresCompDate as recorded_date
    from {{ ref('IDS603PresentingComplaints') }}
),

code_groups as (
    select
        data_item,
        code,
        code_group
    from {{ ref('measure_code_groups') }}
),

thresholds as (
    select
        tool_code,
        measure_domain,
        is_default_anxiety_measure,
        caseness_threshold,
        reliable_change
    from {{ ref('assessment_thresholds') }}
),

descriptor_measures as (
    select
        find_scheme,
        match_type,
        problem_code,
        problem_descriptor,
        anxiety_tool_code,
        preference
    from {{ ref('problem_descriptor_measures') }}
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

age_bands as (
    select
        age_band,
        min_age,
        max_age
    from {{ ref('age_bands') }}
),

appointment_types as (
    select
        code as appointment_type,
        max(case when code_group = 'treatment' then 1 else 0 end) as is_treatment_type,
        max(case when code_group = 'assessment' then 1 else 0 end) as is_assessment_type,
        max(case when code_group = 'follow_up' then 1 else 0 end) as is_follow_up_type
    from code_groups
    where data_item = 'AppType'
    group by code
),

attendance_types as (
    select
        code as attendance_code,
        max(case when code_group = 'attended' then 1 else 0 end) as is_attended,
        max(case when code_group = 'dna' then 1 else 0 end) as is_dna,
        max(case when code_group in ('attended', 'dna', 'late_not_seen') then 1 else 0 end) as is_due
    from code_groups
    where data_item = 'AttendOrDNACode'
    group by code
),

self_referral_sources as (
    select distinct code as source_of_referral
    from code_groups
    where data_item = 'SourceOfReferralIAPT' and code_group = 'self_referral'
),

-- A contact counts towards the pathway when it is dated between the referral and its discharge
-- (or the period end for open referrals). Follow-ups (06) count only after discharge, and never
-- as treatment.
contacts_classified as (
    select
        contacts.service_request_id,
        contacts.contact_date,
        case
            when
                contacts.contact_date >= referrals.referral_received_date
                and contacts.contact_date <= coalesce(referrals.discharge_date, header.period_end_date)
                then 1
            else 0
        end as is_within_referral,
        case
            when referrals.discharge_date is not null and contacts.contact_date > referrals.discharge_date
                then 1
            else 0
        end as is_after_discharge,
        case
            when contacts.contact_date between header.period_start_date and header.period_end_date then 1
            else 0
        end as is_in_period,
        coalesce(attendance_types.is_attended, 0) as is_attended,
        coalesce(attendance_types.is_dna, 0) as is_dna,
        coalesce(attendance_types.is_due, 0) as is_due,
        coalesce(appointment_types.is_treatment_type, 0) as is_treatment_type,
        coalesce(appointment_types.is_assessment_type, 0) as is_assessment_type,
        coalesce(appointment_types.is_follow_up_type, 0) as is_follow_up_type
    from contacts
    inner join referrals
        on contacts.service_request_id = referrals.service_request_id
    cross join header
    left join attendance_types
        on contacts.attendance_code = attendance_types.attendance_code
    left join appointment_types
        on contacts.appointment_type = appointment_types.appointment_type
),

contact_summary as (
    select
        service_request_id,
        min(case
            when is_within_referral = 1 and is_attended = 1 and is_assessment_type = 1 then contact_date
        end) as first_assessment_date,
        min(case
            when is_within_referral = 1 and is_attended = 1 and is_treatment_type = 1 then contact_date
        end) as first_treatment_date,
        sum(case
            when is_within_referral = 1 and is_attended = 1 and is_treatment_type = 1 then 1 else 0
        end) as treatment_appointment_count,
        sum(case when is_within_referral = 1 and is_attended = 1 then 1 else 0 end) as attended_contact_count,
        sum(case
            when is_after_discharge = 1 and is_attended = 1 and is_follow_up_type = 1 then 1 else 0
        end) as follow_up_after_discharge_count,
        sum(is_in_period * is_dna) as dna_contacts_in_period,
        sum(is_in_period * is_due) as due_contacts_in_period
    from contacts_classified
    group by service_request_id
),

-- Scores: care-activity scores (IDS607, dated by their IDS201 contact through IDS202) and
-- referral-level scores (IDS606, dated by their completion date); scales without a threshold
-- row, non-numeric scores and scores outside the referral window are left out.
scores_unioned as (
    select
        contacts.service_request_id,
        activity_scores.tool_code,
        activity_scores.person_score,
        contacts.contact_date as score_date,
        contacts.contact_time as score_time,
        1 as source_order,
        activity_scores.care_activity_id as score_key
    from activity_scores
    inner join activities
        on activity_scores.care_activity_id = activities.care_activity_id
    inner join contacts
        on activities.care_contact_id = contacts.care_contact_id

    union all

    select
        service_request_id,
        tool_code,
        person_score,
        score_date,
        score_time,
        2 as source_order,
        service_request_id as score_key
    from referral_scores
),

scores_valid as (
    select
        scores_unioned.service_request_id,
        scores_unioned.tool_code,
        scores_unioned.score_date,
        scores_unioned.score_time,
        scores_unioned.source_order,
        scores_unioned.score_key,
        {{ measures_numeric_score('scores_unioned.person_score') }} as score
    from scores_unioned
    inner join thresholds
        on scores_unioned.tool_code = thresholds.tool_code
    inner join referrals
        on scores_unioned.service_request_id = referrals.service_request_id
    cross join header
    where
        scores_unioned.score_date >= referrals.referral_received_date
        and scores_unioned.score_date <= coalesce(referrals.discharge_date, header.period_end_date)
),

-- One sort gives both ends: every ordering column is non-null here (dates are inside the referral
-- window, keys come through inner joins, scores are numeric), so the last score in this order is
-- the row whose rank equals its partition's row count (rows tied on every column share the score).
scores_ranked as (
    select
        service_request_id,
        tool_code,
        score,
        row_number() over (
            partition by service_request_id, tool_code
            order by score_date, coalesce(score_time, cast('00:00:00' as time)), source_order, score_key, score
        ) as rank_first,
        count(*) over (partition by service_request_id, tool_code) as partition_rows
    from scores_valid
    where score is not null
),

tool_pairs as (
    select
        service_request_id,
        tool_code,
        count(*) as score_count,
        max(case when rank_first = 1 then score end) as first_score,
        max(case when rank_first = partition_rows then score end) as last_score
    from scores_ranked
    group by service_request_id, tool_code
),

-- Problem descriptor: the primary presenting complaint (coding significance 1), else any;
-- the most recently recorded one wins.
complaints_ranked as (
    select
        complaints.service_request_id,
        complaints.find_scheme,
        complaints.problem_code,
        row_number() over (
            partition by complaints.service_request_id
            order by
                complaints.significance_order asc,
                complaints.recorded_date desc,
                complaints.problem_code asc
        ) as complaint_rank
    from complaints
    cross join header
    where complaints.recorded_date is null or complaints.recorded_date <= header.period_end_date
),

primary_complaint as (
    select
        service_request_id,
        find_scheme,
        problem_code
    from complaints_ranked
    where complaint_rank = 1
),

descriptor_matches as (
    select
        primary_complaint.service_request_id,
        descriptor_measures.problem_code,
        descriptor_measures.problem_descriptor,
        descriptor_measures.anxiety_tool_code,
        descriptor_measures.preference,
        {{ measures_text_length('descriptor_measures.problem_code') }} as match_length
    from primary_complaint
    inner join descriptor_measures
        on
            primary_complaint.find_scheme = descriptor_measures.find_scheme
            and (
                (
                    descriptor_measures.match_type = 'exact'
                    and primary_complaint.problem_code = descriptor_measures.problem_code
                )
                or (
                    descriptor_measures.match_type = 'prefix'
                    and primary_complaint.problem_code like concat(descriptor_measures.problem_code, '%')
                )
            )
),

best_descriptor as (
    select
        service_request_id,
        max(match_length) as match_length
    from descriptor_matches
    group by service_request_id
),

descriptor_candidates as (
    select
        descriptor_matches.service_request_id,
        descriptor_matches.problem_descriptor,
        descriptor_matches.anxiety_tool_code,
        descriptor_matches.preference
    from descriptor_matches
    inner join best_descriptor
        on
            descriptor_matches.service_request_id = best_descriptor.service_request_id
            and descriptor_matches.match_length = best_descriptor.match_length
),

referral_descriptor as (
    select
        service_request_id,
        max(problem_descriptor) as problem_descriptor
    from descriptor_candidates
    group by service_request_id
),

-- Anxiety measure: the descriptor's ADSM in order of preference; the default anxiety measure
-- (GAD-7) is the last resort for every referral. The first candidate with paired scores is used.
anxiety_candidates as (
    select
        service_request_id,
        anxiety_tool_code,
        preference
    from descriptor_candidates

    union all

    select
        referrals.service_request_id,
        thresholds.tool_code as anxiety_tool_code,
        999 as preference
    from referrals
    cross join thresholds
    where thresholds.is_default_anxiety_measure = 1
),

anxiety_chosen as (
    select
        anxiety_candidates.service_request_id,
        anxiety_candidates.anxiety_tool_code,
        row_number() over (
            partition by anxiety_candidates.service_request_id
            order by anxiety_candidates.preference, anxiety_candidates.anxiety_tool_code
        ) as choice_rank
    from anxiety_candidates
    inner join tool_pairs
        on
            anxiety_candidates.service_request_id = tool_pairs.service_request_id
            and anxiety_candidates.anxiety_tool_code = tool_pairs.tool_code
    where tool_pairs.score_count >= 2
),

depression_scores as (
    select
        tool_pairs.service_request_id,
        tool_pairs.score_count,
        tool_pairs.first_score,
        tool_pairs.last_score,
        thresholds.caseness_threshold,
        thresholds.reliable_change
    from tool_pairs
    inner join thresholds
        on tool_pairs.tool_code = thresholds.tool_code
    where thresholds.measure_domain = 'depression'
),

anxiety_scores as (
    select
        anxiety_chosen.service_request_id,
        anxiety_chosen.anxiety_tool_code,
        tool_pairs.score_count,
        tool_pairs.first_score,
        tool_pairs.last_score,
        thresholds.caseness_threshold,
        thresholds.reliable_change
    from anxiety_chosen
    inner join tool_pairs
        on
            anxiety_chosen.service_request_id = tool_pairs.service_request_id
            and anxiety_chosen.anxiety_tool_code = tool_pairs.tool_code
    inner join thresholds
        on anxiety_chosen.anxiety_tool_code = thresholds.tool_code
    where anxiety_chosen.choice_rank = 1
),

outcomes as (
    select
        referrals.service_request_id,
        depression_scores.first_score as phq9_first_score,
        depression_scores.last_score as phq9_last_score,
        anxiety_scores.anxiety_tool_code,
        anxiety_scores.first_score as anxiety_first_score,
        anxiety_scores.last_score as anxiety_last_score,
        case
            when depression_scores.score_count >= 2 and anxiety_scores.score_count >= 2 then 1 else 0
        end as has_paired_scores,
        case
            when
                depression_scores.first_score >= depression_scores.caseness_threshold
                or anxiety_scores.first_score >= anxiety_scores.caseness_threshold
                then 1
            else 0
        end as is_case_at_start,
        case
            when
                depression_scores.last_score < depression_scores.caseness_threshold
                and anxiety_scores.last_score < anxiety_scores.caseness_threshold
                then 1
            else 0
        end as is_below_caseness_at_end,
        case
            when
                depression_scores.first_score - depression_scores.last_score >= depression_scores.reliable_change
                or anxiety_scores.first_score - anxiety_scores.last_score >= anxiety_scores.reliable_change
                then 1
            else 0
        end as has_reliable_decrease,
        case
            when
                depression_scores.last_score - depression_scores.first_score >= depression_scores.reliable_change
                or anxiety_scores.last_score - anxiety_scores.first_score >= anxiety_scores.reliable_change
                then 1
            else 0
        end as has_reliable_increase
    from referrals
    left join depression_scores
        on referrals.service_request_id = depression_scores.service_request_id
    left join anxiety_scores
        on referrals.service_request_id = anxiety_scores.service_request_id
),

pathway as (
    select
        referrals.service_request_id,
        referrals.local_patient_id,
        header.period_start_date,
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
            when referrals.referral_received_date between header.period_start_date and header.period_end_date
                then 1
            else 0
        end as is_referred_in_period,
        case
            when contact_summary.first_assessment_date between header.period_start_date and header.period_end_date
                then 1
            else 0
        end as is_first_assessed_in_period,
        case
            when contact_summary.first_treatment_date between header.period_start_date and header.period_end_date
                then 1
            else 0
        end as is_entered_treatment_in_period,
        case
            when referrals.discharge_date between header.period_start_date and header.period_end_date then 1
            else 0
        end as is_ended_in_period,
        case
            when
                referrals.discharge_date between header.period_start_date and header.period_end_date
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
    cross join header
    cross join parameters
    left join patients
        on referrals.local_patient_id = patients.local_patient_id
    left join contact_summary
        on referrals.service_request_id = contact_summary.service_request_id
    left join referral_descriptor
        on referrals.service_request_id = referral_descriptor.service_request_id
    left join outcomes
        on referrals.service_request_id = outcomes.service_request_id
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
    inner join age_bands
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
