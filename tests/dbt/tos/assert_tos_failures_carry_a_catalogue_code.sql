-- Every predicted failure carries a rule code of the catalogue, a severity of that rule and a record key.
select
    f.rule_code,
    f.severity,
    f.record_key
from {{ ref('tos_failures') }} as f
left join {{ ref('tos_rules') }} as r on f.rule_code = r.rule_code
where r.rule_code is null or f.severity <> r.severity or coalesce(f.record_key, '') = ''
