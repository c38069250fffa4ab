{% macro tos_date_condition(a, b, p) -%}
    {#- a <op> b for two text dates (nulls and unparseable dates pass; a date before 1890 is compared, as the
        national engine does), with optional offset and month precision.
        The text comparison comes first: DuckDB then runs the validity tests only on the few rows it holds
        for (an AND stops at its first false term), which makes the ancestor comparisons about twice as fast. -#}
    {%- set op = p['op'] -%}
    {%- if p.get('precision') == 'month' -%}
        (replace({{ a }}, '/', '-') {{ op }} substr({{ b }}, 1, 7)
            and {{ tos_regex_match(a, '^[0-9]{4}[-/](0[1-9]|1[0-2])$') }} and {{ tos_is_date(b) }})
    {%- elif p.get('offset') -%}
        {#- the casts stay behind the validity tests: an engine without try_cast must never see a bad date -#}
        ({{ tos_is_date(a) }} and {{ tos_is_date(b) }}
            and {{ tos_try_cast(a, 'date') }} {{ op }}
            {{ dbt.dateadd(p['offset']['unit'], p['offset']['n'], tos_try_cast(b, 'date')) }})
    {%- else -%}
        ({{ a }} {{ op }} {{ b }} and {{ tos_is_date(a) }} and {{ tos_is_date(b) }})
    {%- endif -%}
{%- endmacro %}


{% macro tos_parts_date_compare(rule) %}
    {#- Date order: FAIL if column <op> other (+ offset), where other is a column of the same row, of the
        header, of an ancestor record (joined up the table tree) or a literal date. With invalid_fails, an
        invalid date fails too. An ancestor comparison also returns its path and the condition on the joined
        rows (path_cond, ancestor as a<n>), so a table pass can join each ancestor once for all its rules. -#}
    {%- set p = rule['params'] -%}
    {%- set other = p['other'] -%}
    {%- set a = tos_col(p['column']) -%}
    {%- set word = {'<': 'before', '>': 'after'}[p['op']] -%}
    {%- set off = (' + ' ~ p['offset']['n'] ~ ' ' ~ p['offset']['unit'] ~ '(s)') if p.get('offset') else '' -%}
    {%- set otable = other.get('table', '') -%}
    {%- if 'literal' in other -%}
        {%- set desc = other['literal'] -%}
    {%- elif otable == 'IDS000Header' -%}
        {%- set desc = "the header's " ~ other['column'] -%}
    {%- elif otable -%}
        {%- set desc = other['column'] ~ ' of the ' ~ tos_tables()[otable]['table_id'] ~ ' record' -%}
    {%- else -%}
        {%- set desc = other['column'] -%}
    {%- endif -%}
    {%- set parts = {
        'message': tos_value_text(p['column']) ~ " || " ~ tos_lit(' in ' ~ p['column'] ~ ' is ' ~ word ~ ' ' ~ desc ~ off),
        'header': otable == 'IDS000Header',
    } -%}
    {#- invalid_fails is a valid-date rule too: the 1890-01-01 floor applies to it, not to the comparison -#}
    {%- set invalid = ('(' ~ a ~ ' is not null and not ' ~ tos_is_valid_date(a) ~ ') or ') if p.get('invalid_fails') else '' -%}
    {%- if 'literal' in other -%}
        {%- do parts.update({'cond': invalid ~ tos_date_condition(a, tos_lit(other['literal']), p)}) -%}
    {%- elif otable == 'IDS000Header' -%}
        {%- do parts.update({'cond': invalid ~ tos_date_condition(a, tos_col(other['column'], 'h'), p)}) -%}
    {%- elif otable and otable != rule['table_name'] -%}
        {%- set path = tos_path_to(rule['table_name'], otable) -%}
        {%- set path_cond = tos_date_condition(a, tos_col(other['column'], 'a' ~ (path | length)), p) -%}
        {%- set exists -%}
        exists (
            select 1
            {{- tos_path_join(path, uses=[path_cond, tos_col(path[0][1], 'a1')]) }}
            where {{ tos_col(path[0][1], 'a1') }} = {{ tos_col(path[0][1]) }}
                and {{ path_cond }}
        )
        {%- endset -%}
        {%- do parts.update({'cond': invalid ~ exists}) -%}
        {%- if not invalid -%}
            {%- do parts.update({'path': path, 'path_cond': path_cond}) -%}
        {%- endif -%}
    {%- else -%}
        {%- do parts.update({'cond': invalid ~ tos_date_condition(a, tos_col(other['column']), p)}) -%}
    {%- endif -%}
    {{ return(parts) }}
{% endmacro %}
