-- Meridian EPR keeps the current GP practice (epr.client_gp) and a change log of the ended
-- registrations (epr.client_gp_log): together, every registration.
with current_practice as (
    select
        cast(gp_reg_key as {{ sql_type('bigint') }}) as registration_id,
        cast(client_id as {{ sql_type('string') }}) as patient_id,
        cast(practice_ods as {{ sql_type('string') }}) as practice_code,
        cast(since_dt as {{ sql_type('date') }}) as registered_from,
        cast(null as {{ sql_type('date') }}) as registered_to
    from {{ source('meridian_epr', 'client_gp') }}
),

ended_practice as (
    select
        cast(gp_reg_key as {{ sql_type('bigint') }}) as registration_id,
        cast(client_id as {{ sql_type('string') }}) as patient_id,
        cast(practice_ods as {{ sql_type('string') }}) as practice_code,
        cast(from_dt as {{ sql_type('date') }}) as registered_from,
        cast(to_dt as {{ sql_type('date') }}) as registered_to
    from {{ source('meridian_epr', 'client_gp_log') }}
)

select * from current_practice
union all
select * from ended_practice
