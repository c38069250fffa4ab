-- Meridian EPR keeps the current accommodation (epr.client_accommodation) and a change log of the
-- ended ones (epr.client_accommodation_log): together, every accommodation recorded.
with current_accommodation as (
    select
        cast(accom_key as {{ sql_type('bigint') }}) as accommodation_id,
        cast(client_id as {{ sql_type('string') }}) as patient_id,
        cast(accom_cd as {{ sql_type('string') }}) as accommodation_local,
        cast(settled_cd as {{ sql_type('string') }}) as settled_local,
        cast(recorded_dt as {{ sql_type('date') }}) as recorded_on,
        cast(since_dt as {{ sql_type('date') }}) as started_on,
        cast(null as {{ sql_type('date') }}) as ended_on
    from {{ source('meridian_epr', 'client_accommodation') }}
),

ended_accommodation as (
    select
        cast(accom_key as {{ sql_type('bigint') }}) as accommodation_id,
        cast(client_id as {{ sql_type('string') }}) as patient_id,
        cast(accom_cd as {{ sql_type('string') }}) as accommodation_local,
        cast(settled_cd as {{ sql_type('string') }}) as settled_local,
        cast(recorded_dt as {{ sql_type('date') }}) as recorded_on,
        cast(from_dt as {{ sql_type('date') }}) as started_on,
        cast(to_dt as {{ sql_type('date') }}) as ended_on
    from {{ source('meridian_epr', 'client_accommodation_log') }}
)

select * from current_accommodation
union all
select * from ended_accommodation
