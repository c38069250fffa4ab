{{ config(materialized='view', schema='validation', persist_docs={'relation': false, 'columns': false}) }}

-- IDS202CareActivity as text in the data set's formats, with its row id and local record key.
{{ tos_normalised('IDS202CareActivity') }}
