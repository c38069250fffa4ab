select
    cast(cluster_key as {{ sql_type('bigint') }}) as cluster_assignment_id,
    cast(client_id as {{ sql_type('string') }}) as patient_id,
    cast(cluster_cd as {{ sql_type('string') }}) as care_cluster_local,
    cast({{ timestamp_from_epoch('start_epoch') }} as {{ sql_type('timestamp') }}) as started_at,
    cast({{ timestamp_from_epoch('end_epoch') }} as {{ sql_type('timestamp') }}) as ended_at
from {{ source('meridian_epr', 'client_cluster') }}
