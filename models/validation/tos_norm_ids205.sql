{{ config(materialized='view', schema='validation', persist_docs={'relation': false, 'columns': false}) }}

-- IDS205InternetTherLog as text in the data set's formats, with its row id and local record key.
{{ tos_normalised('IDS205InternetTherLog') }}
