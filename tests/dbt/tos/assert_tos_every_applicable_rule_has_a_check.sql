-- Every rule of the catalogue that applies to v2.1 is implemented (or approximated before upload) by a named check;
-- failing rows name the rule codes left without one.
select
    rule_code,
    status,
    check_name
from {{ ref('tos_rules') }}
where
    (v21_applicable = 'true' and (coalesce(check_name, '') = '' or status = 'not_applicable_v21'))
    or (v21_applicable = 'false' and status <> 'not_applicable_v21')
