{#- Build provenance of the IDB marts: one row per mart in <target schema>.idb_build_manifest saying which
    build (dbt invocation) last wrote it, for which period, when, and whether that build completed.
    on-run-start marks the marts a `dbt build`/`dbt run` selects as 'building'; on-run-end marks them
    'complete' only when nothing in the run errored or failed, else 'failed'. A killed run leaves them
    'building'. `iapt-idb validate`/`export` accept only marts all from one complete build of the period
    (scripts/iapt_idb/provenance.py). Runs that select no IDB mart (seeds, the validation models,
    compile, docs) leave the manifest alone. The manifest never reaches a mart or the IDB. -#}

{% macro build_manifest_relation() -%}
    {{ target.schema }}.idb_build_manifest
{%- endmacro %}

{% macro build_manifest_marts() -%}
    {#- The IDB marts (models/marts/idb) this invocation selected, as model names, sorted. -#}
    {%- set names = [] -%}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- for uid in selected_resources -%}
            {%- set node = graph.nodes.get(uid) -%}
            {%- if node and node.resource_type == 'model'
                and node.original_file_path.replace('\\', '/').startswith('models/marts/idb/') -%}
                {%- do names.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names | sort) }}
{%- endmacro %}

{% macro build_manifest_start() %}
    {%- set marts = build_manifest_marts() -%}
    {%- if 'IDS000Header' in marts and not (build_var('provider_ods_code') | trim) -%}
        {{ exceptions.raise_compiler_error(
            "var provider_ods_code is empty: IDS000Header.OrgIDProv needs the provider's ODS code, which has no "
            ~ "default. Pass --vars '{provider_ods_code: RXX}' to dbt (or --provider-ods to iapt-idb build), or "
            ~ "set it in dbt_project.yml. Nothing was built.") }}
    {%- endif -%}
    {%- if marts -%}
        {%- set rel = build_manifest_relation() -%}
        {%- set names = "'" ~ (marts | join("', '")) ~ "'" -%}
        {%- set started = run_started_at.strftime('%Y-%m-%dT%H:%M:%S') -%}
        {%- do run_query(
            'create table if not exists ' ~ rel ~ ' (table_name varchar, period varchar, build_id varchar, '
            ~ 'status varchar, started_at varchar, completed_at varchar)') -%}
        {%- do run_query('delete from ' ~ rel ~ ' where table_name in (' ~ names ~ ')') -%}
        {%- set rows = [] -%}
        {%- for name in marts -%}
            {%- do rows.append("('" ~ name ~ "', '" ~ (build_var('period') | replace("'", "''")) ~ "', '"
                ~ invocation_id ~ "', 'building', '" ~ started ~ "', null)") -%}
        {%- endfor -%}
        {%- do run_query('insert into ' ~ rel ~ ' values ' ~ rows | join(', ')) -%}
    {%- endif -%}
{% endmacro %}

{% macro build_manifest_end(results) %}
    {%- set marts = build_manifest_marts() -%}
    {%- if marts -%}
        {%- set failed = [] -%}
        {%- for r in results -%}
            {%- if r.status in ('error', 'fail', 'runtime error', 'skipped') -%}
                {%- do failed.append(r.node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set status = 'failed' if failed else 'complete' -%}
        {%- set done = modules.datetime.datetime.utcnow().strftime('%Y-%m-%dT%H:%M:%S') -%}
        {%- do run_query(
            'update ' ~ build_manifest_relation() ~ " set status = '" ~ status ~ "', completed_at = '" ~ done
            ~ "' where build_id = '" ~ invocation_id ~ "'") -%}
    {%- endif -%}
{% endmacro %}
