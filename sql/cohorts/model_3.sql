-- Training cohort of model_3: the third slice of ${cohort_rows} reviews of the stream in arrival
-- order (Kafka record timestamp, then partition, then offset), as the original system gathered
-- 1000 batches of 500 records per model. Returns the three training features; a row whose
-- feature is NULL is counted and excluded by the trainer.
--
-- The lake stores reviews in arrival order, so DataFusion merges the files instead of sorting
-- every row. review_length equals character_length(review_text) but needs no text decoding.
-- ${cohort_rows} is replaced by --cohort-rows (default 500000). Edit freely, or add model_4.sql.
SELECT
    review_rating AS rating,
    review_likes  AS likes,
    review_length AS length   -- characters, as Spark's length(); stored at ingest
FROM reviews
ORDER BY kafka_timestamp, kafka_partition, kafka_offset
LIMIT ${cohort_rows} OFFSET 2 * ${cohort_rows}
