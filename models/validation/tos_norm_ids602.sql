{{ config(materialized='view', schema='validation', persist_docs={'relation': false, 'columns': false}) }}

-- IDS602LongTermCondition as text in the data set's formats, with its row id and local record key.
{{ tos_normalised('IDS602LongTermCondition') }}
