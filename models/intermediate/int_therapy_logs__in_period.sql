-- Internet-enabled therapy logs submitted this month: those whose logged period ends in the month
-- (each log is submitted once, when it closes), plus started logs with no end date (a defect kept
-- visible for validation).
select
    log_id,
    referral_id,
    programme,
    started_on,
    ended_on,
    minutes,
    staff_id,
    integrated_software
from {{ ref('stg_digital_therapy_log') }}
where
    {{ dated_in_period('ended_on') }}
    or (ended_on is null and started_on <= {{ period_end() }})
