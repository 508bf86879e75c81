#!/usr/bin/env bash
# Prints, for every key of keys.txt (but the empty key, which librdkafka places at random) and
# every partition count given, the partition that librdkafka's default partitioner
# (consistent_random: CRC-32 of the key) picks: key TAB partitions TAB partition. It produces
# the keys with kcat to fresh topics of a running broker and reads back where they landed.
#
#   apt-get install kcat; scripts/kafka.sh start
#   internal/sink/testdata/partitions/librdkafka.sh 127.0.0.1:19092 1 2 3 > crc32.tsv
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"
broker=$1
shift
for n in "$@"; do
	topic="librdkafka-vectors-$n-$RANDOM$RANDOM"
	java -cp "$root/.cache/kafka/lib/*" org.apache.kafka.tools.TopicCommand --bootstrap-server "$broker" \
		--create --topic "$topic" --partitions "$n" --replication-factor 1 >/dev/null
	grep -v -e '^#' -e '^<empty>$' "$here/keys.txt" | sed 's/$/\tx/' | kcat -b "$broker" -t "$topic" -P -K $'\t'
	got="$(kcat -b "$broker" -t "$topic" -C -e -q -f '%k\t%p\n' -o beginning)"
	grep -v -e '^#' -e '^<empty>$' "$here/keys.txt" | while IFS= read -r key; do
		printf '%s\t%s\t%s\n' "$key" "$n" "$(printf '%s\n' "$got" | awk -F'\t' -v k="$key" '$1 == k { print $2; exit }')"
	done
done
