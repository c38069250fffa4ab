-- IDS108WaitingTimePauses: pauses overlapping the reporting period; later end dates submitted empty.
select
    cast(pause_number as {{ sql_type('string') }}) as PauseID,
    cast(referral_id as {{ sql_type('string') }}) as ServiceRequestId,
    cast(paused_from as {{ sql_type('date') }}) as PauseStartDate,
    cast({{ as_at_period_end('paused_to') }} as {{ sql_type('date') }}) as PauseEndDate,
    cast({{ national_or_local('pause_reason') }} as {{ sql_type('string') }}) as PauseReason
from {{ ref('stg_waiting_pause') }}
where {{ overlaps_period('paused_from', 'paused_to') }}
{{ order_by_columns(5) }}
