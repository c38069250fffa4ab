-- Input: one row per reporting period and presenting complaint recorded by its end (or undated).
-- From the warehouse (staging interface) or from the accumulated IDB submissions
-- (IDS603PresentingComplaints of the referral's latest month), by var measures_input.
-- depends_on: {{ source('idb_submissions', 'IDS603PresentingComplaints') }}
-- Read by one model only: a view on DuckDB, computed inside its reader's query (macro
-- one_reader_materialization).
{{ config(materialized=one_reader_materialization()) }}
{% if measures_input() == 'submissions' %}

    with

    submitted as (
        {{ measures_submitted('IDS603PresentingComplaints', ['ServiceRequestId']) }}
    )

    select
        period_start_date,
        ServiceRequestId as service_request_id,
        FindSchemeInUse as find_scheme,
        PresComp as problem_code,
        PresCompCodSig as significance,
        PresCompDate as recorded_date
    from submitted

{% else %}

    select
        periods.period_start_date,
        complaints.referral_id as service_request_id,
        {{ national_or_local('complaints.coding_scheme') }} as find_scheme,
        complaints.problem_code,
        {{ national_or_local('complaints.significance') }} as significance,
        complaints.recorded_on as recorded_date
    from {{ ref('stg_presenting_problem') }} as complaints
    inner join {{ ref('int_measures__periods') }} as periods
        on complaints.recorded_on is null or complaints.recorded_on <= periods.period_end_date

{% endif %}
