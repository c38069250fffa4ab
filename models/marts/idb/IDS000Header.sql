-- IDS000Header: the one header row, from the run's dbt vars and the source system's label (macro
-- primary_system_in_use). The provider's ODS code has no default: a build or run of the marts without one
-- stops before any model (macro build_manifest_start).
{%- set submitter = build_var("submitter_ods_code") | trim or build_var("provider_ods_code") %}
select
    cast('{{ var("dataset_version") }}' as {{ sql_type('string') }}) as DatSetVer,
    cast('{{ build_var("provider_ods_code") }}' as {{ sql_type('string') }}) as OrgIDProv,
    cast('{{ submitter }}' as {{ sql_type('string') }}) as OrgIDSubmit,
    cast('{{ primary_system_in_use() }}' as {{ sql_type('string') }}) as PrimSystemInUse,
    {{ period_start() }} as ReportingPeriodStartDate,
    {{ period_end() }} as ReportingPeriodEndDate,
    {{ dataset_created_at() }} as DateTimeDatSetCreate
