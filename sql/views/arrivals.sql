-- Every review numbered in arrival order: Kafka record timestamp, then partition, then offset
-- (`arrival` is 1 for the first record of the stream). The training cohorts in sql/cohorts/ are
-- consecutive slices of it: `SELECT * FROM arrivals WHERE arrival <= 10`.
-- Every file in sql/views/ becomes a view named after the file.
SELECT
    *,
    row_number() OVER (ORDER BY kafka_timestamp, kafka_partition, kafka_offset) AS arrival
FROM reviews
