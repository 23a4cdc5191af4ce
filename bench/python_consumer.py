"""Peer for the ingest benchmark: the original system's consumer shape (kafka-python, JSON decode,
500-record batches written as JSON files), reading the same topic to its end."""
import json, os, sys, time

from kafka import KafkaConsumer, TopicPartition

brokers, topic, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out_dir, exist_ok=True)
start = time.time()
consumer = KafkaConsumer(bootstrap_servers=brokers, group_id=None, auto_offset_reset="earliest",
                         enable_auto_commit=False, api_version=(2, 5))
parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
consumer.assign(parts)
end = consumer.end_offsets(parts)
n, batch, files = 0, [], 0
done = False
while not done:
    for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
        for r in records:
            batch.append(json.loads(r.value))
            n += 1
            if len(batch) == 500:
                with open(os.path.join(out_dir, f"batch_{files}.json"), "w") as f:
                    json.dump(batch, f)
                files += 1
                batch = []
    done = all(consumer.position(tp) >= end[tp] for tp in parts)
secs = time.time() - start
print(json.dumps({"messages": n, "seconds": round(secs, 3), "rows_per_sec": round(n / secs)}))
