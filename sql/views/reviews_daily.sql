-- Reviews per day with their mean rating: `SELECT * FROM reviews_daily ORDER BY day DESC LIMIT 7`.
-- Every file in sql/views/ becomes a view named after the file.
SELECT
    date_trunc('day', review_timestamp) AS day,
    count(*)                            AS reviews,
    avg(review_rating)                  AS mean_rating,
    sum(review_likes)                   AS likes
FROM reviews
GROUP BY 1
