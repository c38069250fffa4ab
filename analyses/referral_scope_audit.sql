-- Audit: does every staged referral either reach IDS101 or have a documented reason not to?
-- Compile with `dbt compile --select referral_scope_audit` and run the SQL in target/compiled/.
-- Expect one row per scope_reason: in-scope reasons have not_in_ids101 = 0; out-of-scope reasons
-- have not_in_ids101 = referrals.

with

scoped as (
    select
        referral_id,
        scope_reason,
        is_in_scope
    from {{ ref('int_referrals__scoped') }}
),

submitted as (
    select ServiceRequestId as referral_id
    from {{ ref('IDS101Referral') }}
),

audit as (
    select
        scoped.scope_reason,
        scoped.is_in_scope,
        count(*) as referrals,
        sum(case when submitted.referral_id is null then 1 else 0 end) as not_in_ids101
    from scoped
    left join submitted
        on scoped.referral_id = submitted.referral_id
    group by scoped.scope_reason, scoped.is_in_scope
)

select * from audit
order by scope_reason
