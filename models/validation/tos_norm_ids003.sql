{{ config(materialized='view', schema='validation') }}

-- IDS003AccommStatus as text in the data set's formats, with its row id and local record key.
{{ tos_normalised('IDS003AccommStatus') }}
