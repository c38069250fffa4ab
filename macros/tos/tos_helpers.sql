{#- Small SQL building blocks shared by the TOS checks. Engine-specific pieces are dispatched. -#}

{% macro tos_regex_match(expr, pattern) %}
    {{- adapter.dispatch('tos_regex_match', 'iapt_idb')(expr, pattern) -}}
{% endmacro %}

{% macro default__tos_regex_match(expr, pattern) -%}
    regexp_matches({{ expr }}, {{ tos_lit(pattern) }})
{%- endmacro %}

{% macro duckdb__tos_regex_match(expr, pattern) -%}
    {#- A fixed-length pattern of plain characters and classes (tos_glob_of_pattern: the date and time
        shapes) runs as GLOB, about twice as fast as RE2 on the dates, every one of which is tested. Another
        pattern anchored at both ends (^...$, no top-level |) runs as RE2's full match of its body, which
        DuckDB evaluates once per distinct value of a dictionary-compressed column: up to ~15x faster on the
        code columns at national scale. Both give regexp_matches' result. -#}
    {%- set glob = tos_glob_of_pattern(pattern) -%}
    {%- if glob -%}
        ({{ expr }} glob {{ tos_lit(glob) }})
    {%- elif tos_is_anchored_pattern(pattern) -%}
        regexp_full_match({{ expr }}, {{ tos_lit('(?:' ~ pattern[1:-1] ~ ')') }})
    {%- else -%}
        regexp_matches({{ expr }}, {{ tos_lit(pattern) }})
    {%- endif -%}
{%- endmacro %}

{% macro tos_glob_of_pattern(pattern) -%}
    {#- The GLOB pattern matching exactly the strings that the regex matches, when the regex is ^body$ and
        body a non-empty sequence of plain characters (ASCII letters and digits, space, - : / ,) and
        character classes of ASCII letters, digits and ranges of them ([0-9], [A-Z0-9]), each taken once or
        an exact number of times ({n}): '^[0-9]{4}-[0-9]{2}$' gives '[0-9][0-9][0-9][0-9]-[0-9][0-9]'.
        Such a match spans the whole value, one ASCII character per item, as GLOB's does. '' for any other
        pattern. -#}
    {%- set item = '(\\[(?:[A-Za-z0-9](?:-[A-Za-z0-9])?)+\\]|[A-Za-z0-9 :/,-])(?:\\{([0-9]+)\\})?' -%}
    {%- set body = pattern[1:-1] if pattern | length > 2 and pattern.startswith('^') and pattern.endswith('$') else '' -%}
    {%- set ns = namespace(glob='') -%}
    {%- if body and modules.re.fullmatch('(?:' ~ item ~ ')+', body) -%}
        {%- for one, times in modules.re.findall(item, body) -%}
            {%- set ns.glob = ns.glob ~ one * (times | int if times else 1) -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(ns.glob) -}}
{%- endmacro %}

{% macro tos_is_anchored_pattern(pattern) -%}
    {#- True when the regex is ^body$ and matching it equals a full match of body: the final $ is not
        escaped and no | stands outside a group or character class. In a class, a ] first (after an
        optional ^) is a literal, as in RE2. -#}
    {%- set ns = namespace(depth=0, in_class=false, class_len=0, negated=false, escaped=false, top_bar=false) -%}
    {%- for ch in pattern[1:-1] -%}
        {%- if ns.escaped -%}
            {%- set ns.escaped = false -%}
            {%- set ns.class_len = ns.class_len + (1 if ns.in_class else 0) -%}
        {%- elif ch == '\\' -%}
            {%- set ns.escaped = true -%}
        {%- elif ns.in_class -%}
            {%- if ch == '^' and ns.class_len == 0 and not ns.negated -%}
                {%- set ns.negated = true -%}
            {%- elif ch == ']' and ns.class_len > 0 -%}
                {%- set ns.in_class = false -%}
            {%- else -%}
                {%- set ns.class_len = ns.class_len + 1 -%}
            {%- endif -%}
        {%- elif ch == '[' -%}
            {%- set ns.in_class = true -%}
            {%- set ns.class_len = 0 -%}
            {%- set ns.negated = false -%}
        {%- elif ch == '(' -%}
            {%- set ns.depth = ns.depth + 1 -%}
        {%- elif ch == ')' -%}
            {%- set ns.depth = ns.depth - 1 -%}
        {%- elif ch == '|' and ns.depth == 0 -%}
            {%- set ns.top_bar = true -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(pattern | length >= 2 and pattern.startswith('^') and pattern.endswith('$')
        and not ns.escaped and not ns.top_bar) -}}
{%- endmacro %}

{% macro tos_try_cast(expr, type_name) %}
    {{- adapter.dispatch('tos_try_cast', 'iapt_idb')(expr, type_name) -}}
{% endmacro %}

{% macro default__tos_try_cast(expr, type_name) -%}
    try_cast({{ expr }} as {{ type_name }})
{%- endmacro %}


{% macro tos_int_div(a, b) %}
    {{- adapter.dispatch('tos_int_div', 'iapt_idb')(a, b) -}}
{% endmacro %}

{% macro default__tos_int_div(a, b) -%}
    ({{ a }} / {{ b }})
{%- endmacro %}

{% macro duckdb__tos_int_div(a, b) -%}
    ({{ a }} // {{ b }})
{%- endmacro %}


{% macro tos_lit(text) -%}
    '{{ text | replace("'", "''") }}'
{%- endmacro %}


{% macro tos_col(column, alias='t') -%}
    {{ alias }}.{{ adapter.quote(column) }}
{%- endmacro %}


{% macro tos_is_date(expr) -%}
    {#- A real calendar date in the data set's format (YYYY-MM-DD), whatever its year: the test behind every
        date comparison and the age rule, which the national engine runs on any parseable date. The
        1890-01-01 floor belongs to the valid_date rules alone (tos_is_valid_date). -#}
    ({{ tos_regex_match(expr, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') }} and {{ tos_try_cast(expr, 'date') }} is not null)
{%- endmacro %}


{% macro tos_is_valid_date(expr, floor='1890-01-01') -%}
    {#- A real date on or after floor: the valid_date rules ("not a valid date OR < 1890-01-01"). -#}
    ({{ tos_is_date(expr) }} and {{ expr }} >= {{ tos_lit(floor) }})
{%- endmacro %}


{% macro tos_is_datetime(expr) -%}
    {#- A real YYYY-MM-DDThh:mm:ss timestamp, whatever its year (the floor: tos_is_valid_datetime). -#}
    ({{ tos_regex_match(expr, '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$') }}
        and {{ tos_try_cast("replace(" ~ expr ~ ", 'T', ' ')", 'timestamp') }} is not null)
{%- endmacro %}


{% macro tos_is_valid_datetime(expr, floor='1890-01-01') -%}
    {#- A real timestamp on or after floor (midnight): the valid_datetime rule. -#}
    ({{ tos_is_datetime(expr) }} and {{ expr }} >= {{ tos_lit(floor) }})
{%- endmacro %}


{% macro tos_is_time(expr) -%}
    {#- A time of day hh:mm:ss, 00:00:00 to 23:59:59: what an Access Date/Time holds on 1899-12-30. -#}
    {{ tos_regex_match(expr, '^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$') }}
{%- endmacro %}


{% macro tos_is_blank(expr) %}
    {#- Only white space (RE2 \s: space, tab, newline, form feed, carriage return), or empty. -#}
    {{- adapter.dispatch('tos_is_blank', 'iapt_idb')(expr) -}}
{% endmacro %}

{% macro default__tos_is_blank(expr) -%}
    ltrim({{ expr }}, ' ' || chr(9) || chr(10) || chr(12) || chr(13)) = ''
{%- endmacro %}

{% macro duckdb__tos_is_blank(expr) -%}
    {#- The same test as one RE2 full match: ~4x faster than ltrim, which copies every value. A
        blank value sorts before '!' (white space is below it, and '' is below everything), so the regex
        only sees the few values that do: ~2.5x faster again on identifier columns. -#}
    ({{ expr }} < '!' and regexp_full_match({{ expr }}, '[ \t\n\f\r]*'))
{%- endmacro %}


{% macro tos_in_list(expr, values) -%}
    {{ expr }} in ({% for v in values %}{{ tos_lit(v) }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}


{% macro tos_sensitive_columns() %}
    {#- Values of these columns never appear in a message. -#}
    {{ return(['NHSNumber', 'PersonBirthDate', 'Postcode']) }}
{% endmacro %}


{% macro tos_value_text(column, alias='t') -%}
    {#- The offending value for a message, or a neutral word for personal identifiers. -#}
    {%- if column in tos_sensitive_columns() -%}
        'the value'
    {%- else -%}
        coalesce('''' || substr({{ tos_col(column, alias) }}, 1, 40) || '''', 'blank')
    {%- endif -%}
{%- endmacro %}


{% macro tos_header_row() -%}
    {#- The header the platform compares against: the first IDS000 row (the platform reads one). -#}
    select * from {{ tos_norm_ref('IDS000Header') }}
    order by tos_row_id
    limit 1
{%- endmacro %}


{% macro tos_header_cte() -%}
    tos_hdr as (
        {{ tos_header_row() }}
    )
{%- endmacro %}


{% macro tos_failure_columns() -%}
    {#- The columns of a failure row, in order: what tos_failure selects and every failure table holds. -#}
    rule_code,
    severity,
    table_name,
    record_key,
    row_id,
    columns,
    message
{%- endmacro %}


{% macro tos_failure(rule, message_sql, alias='t') -%}
    {#- The common columns of a failure row. -#}
    select
        {{ tos_lit(rule['rule_code']) }} as rule_code,
        {{ tos_lit(rule['severity']) }} as severity,
        {{ tos_lit(rule['table_name']) }} as table_name,
        {{ tos_record_key_of(rule['table_name'], alias) }} as record_key,
        {{ alias }}.tos_row_id as row_id,
        {{ tos_lit(rule['columns']) }} as columns,
        {{ message_sql }} as message
{%- endmacro %}


{% macro tos_period_tokens() %}
    {#- True while the validation engine compiles its plan (build_var tos_period_tokens, 'true'). -#}
    {{ return(build_var('tos_period_tokens') | lower == 'true') }}
{% endmacro %}


{% macro tos_period_bounds() %}
    {#- (start, end) of the reporting period chosen at upload (var period, YYYY-MM) as YYYY-MM-DD text; with var
        tos_period_tokens, the placeholders the validation engine fills in for the period each run validates. -#}
    {%- if tos_period_tokens() -%}
        {{ return(['__IAPT_PERIOD_START__', '__IAPT_PERIOD_END__']) }}
    {%- endif -%}
    {{ return(period_bounds()[0:2]) }}
{% endmacro %}


{% macro tos_reporting_period() %}
    {#- The reporting period (var period, YYYY-MM); with var tos_period_tokens, the engine's placeholder. -#}
    {{ return('__IAPT_PERIOD__' if tos_period_tokens() else build_var('period')) }}
{% endmacro %}


{% macro tos_code_list_sql(stem, value_column='code') -%}
    {#- The codes of a national list that are valid for the reporting period (valid_from/valid_to). -#}
    {%- set start = tos_period_bounds()[0] -%}
    select {{ value_column }} from {{ ref('ref_' ~ stem) }}
    where (coalesce(valid_from, '') = '' or valid_from <= '{{ start }}')
        and (coalesce(valid_to, '') = '' or valid_to >= '{{ start }}')
{%- endmacro %}


{#- Helpers shared by several checks: row predicates, the walk up the table tree, SNOMED CT identifiers. -#}

{% macro tos_predicate(pred, alias='t') -%}
    {#- One condition of a cross-field rule. -#}
    {%- set c = tos_col(pred['column'], alias) -%}
    {%- set op = pred['op'] -%}
    {%- if op == 'null' -%}
        {{ c }} is null
    {%- elif op == 'not_null' -%}
        {{ c }} is not null
    {%- elif op == 'in' -%}
        {{ tos_in_list(c, pred['values']) }}
    {%- elif op == 'not_in' -%}
        ({{ c }} is not null and not {{ tos_in_list(c, pred['values']) }})
    {%- elif op == 'null_or_not_in' -%}
        ({{ c }} is null or not {{ tos_in_list(c, pred['values']) }})
    {%- elif op == 'ne_header' -%}
        ({{ c }} is not null and {{ tos_col(pred['other'], 'h') }} is not null and {{ c }} <> {{ tos_col(pred['other'], 'h') }})
    {%- else -%}
        {{ exceptions.raise_compiler_error('unknown predicate op ' ~ op) }}
    {%- endif -%}
{%- endmacro %}


{% macro tos_path_to(table_name, target_table) %}
    {#- The chain of (table, join key) from a table up the IDB tree to an ancestor table. -#}
    {%- set tables = tos_tables() -%}
    {%- set path = [] -%}
    {%- set ns = namespace(cur=table_name) -%}
    {%- for _ in range(6) -%}
        {%- if ns.cur != target_table -%}
            {%- set parent = tables[ns.cur]['parent_table'] -%}
            {%- if not parent -%}
                {{ exceptions.raise_compiler_error(target_table ~ ' is not an ancestor of ' ~ table_name) }}
            {%- endif -%}
            {%- do path.append([parent, tables[ns.cur]['parent_key']]) -%}
            {%- set ns.cur = parent -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(path) }}
{% endmacro %}


{% macro tos_path_join(path, child=none, uses='') -%}
    {#- The tables of a path (tos_path_to) joined up the tree as a1, a2, ...; a1 is the parent. Without
        child, a1 starts a FROM; with it, a1 is joined to the row aliased child. uses: the SQL that reads the
        ancestors (a1."Column", ...), which decides the columns each one brings (tos_norm_narrow). -#}
    {%- set conds = [] -%}
    {%- for step in path -%}
        {%- if child or not loop.first -%}
            {%- do conds.append(tos_col(step[1], 'a' ~ loop.index) ~ ' = ' ~ tos_col(step[1], child if loop.first else 'a' ~ loop.index0)) -%}
        {%- else -%}
            {%- do conds.append('') -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set text = (uses if uses is string else uses | join('\n')) ~ '\n' ~ conds | join('\n') -%}
    {%- for step in path %}
    {{ 'inner join' if child or not loop.first else 'from' }} {{ tos_norm_narrow(step[0], 'a' ~ loop.index, text) }} as a{{ loop.index }}
    {%- if child or not loop.first %}
        on {{ conds[loop.index0] }}
    {%- endif %}
    {%- endfor %}
{%- endmacro %}


{% macro tos_regex_extract(expr, pattern) %}
    {{- adapter.dispatch('tos_regex_extract', 'iapt_idb')(expr, pattern) -}}
{% endmacro %}


{% macro default__tos_regex_extract(expr, pattern) -%}
    regexp_extract({{ expr }}, {{ tos_lit(pattern) }})
{%- endmacro %}


{% macro tos_verhoeff_tables() %}
    {#- Verhoeff: multiplication table of the dihedral group D5 (d) and the position permutations (p). -#}
    {{ return({
        'd': [[0,1,2,3,4,5,6,7,8,9],[1,2,3,4,0,6,7,8,9,5],[2,3,4,0,1,7,8,9,5,6],[3,4,0,1,2,8,9,5,6,7],
              [4,0,1,2,3,9,5,6,7,8],[5,9,8,7,6,0,4,3,2,1],[6,5,9,8,7,1,0,4,3,2],[7,6,5,9,8,2,1,0,4,3],
              [8,7,6,5,9,3,2,1,0,4],[9,8,7,6,5,4,3,2,1,0]],
        'p': [[0,1,2,3,4,5,6,7,8,9],[1,5,7,6,2,8,3,0,9,4],[5,8,0,3,7,9,6,1,4,2],[8,9,1,6,0,4,3,5,2,7],
              [9,4,5,3,1,2,6,8,7,0],[4,2,8,6,5,7,3,9,0,1],[2,7,9,3,8,0,6,4,1,5],[7,0,4,6,9,1,3,2,5,8]],
    }) }}
{% endmacro %}


{% macro tos_snomed_ctes(values_sql) -%}
    {#- CTEs tos_sct_ids (candidate identifiers) and tos_sct_valid (those with a valid Verhoeff check digit
        and a concept partition identifier 00/10). values_sql selects one column named v. The check digit is
        computed once per distinct identifier. Callers open the WITH as "with recursive" (the portable
        version recurses over the digits). -#}
    tos_sct_ids as (
        select distinct {{ tos_regex_extract('v', '^[0-9]+') }} as sct_id
        from ({{ values_sql }}) as vals
        where v is not null
    ),
    {{ adapter.dispatch('tos_sct_valid_ctes', 'iapt_idb')() }}
{%- endmacro %}


{% macro duckdb__tos_sct_valid_ctes() -%}
    {#- The check digit as one fold over the digits (no recursion): the last digit is position 0. -#}
    {%- set v = tos_verhoeff_tables() -%}
    tos_sct_valid as (
        select sct_id from tos_sct_ids
        where
            length(sct_id) between 6 and 18
            and substr(sct_id, length(sct_id) - 2, 2) in ('00', '10')
            and list_reduce(
                list_transform(
                    range(length(sct_id)),
                    lambda i: {{ v['p'] }}[(i % 8) + 1][ascii(substr(sct_id, length(sct_id) - i::integer, 1)) - 47]
                ),
                lambda a, b: {{ v['d'] }}[a + 1][b + 1]
            ) = 0
    )
{%- endmacro %}


{% macro default__tos_sct_valid_ctes() -%}
    {%- set v = tos_verhoeff_tables() -%}
    tos_sct_d (a, b, val) as (
        values {% for row in v['d'] %}{% set i = loop.index0 %}{% for x in row %}({{ i }}, {{ loop.index0 }}, {{ x }}){{ ', ' if not loop.last }}{% endfor %}{{ ', ' if not loop.last }}{% endfor %}
    ),
    tos_sct_p (i, digit, val) as (
        values {% for row in v['p'] %}{% set i = loop.index0 %}{% for x in row %}({{ i }}, {{ loop.index0 }}, {{ x }}){{ ', ' if not loop.last }}{% endfor %}{{ ', ' if not loop.last }}{% endfor %}
    ),
    tos_sct_verhoeff (sct_id, pos, chk) as (
        select sct_id, 0, 0 from tos_sct_ids where length(sct_id) between 6 and 18
        union all
        select r.sct_id, r.pos + 1, d.val
        from tos_sct_verhoeff as r
        inner join tos_sct_p as p
            on p.i = r.pos % 8 and p.digit = ascii(substr(r.sct_id, length(r.sct_id) - r.pos, 1)) - 48
        inner join tos_sct_d as d on d.a = r.chk and d.b = p.val
        where r.pos < length(r.sct_id)
    ),
    tos_sct_valid as (
        select sct_id from tos_sct_verhoeff
        where pos = length(sct_id) and chk = 0 and substr(sct_id, length(sct_id) - 2, 2) in ('00', '10')
    )
{%- endmacro %}
