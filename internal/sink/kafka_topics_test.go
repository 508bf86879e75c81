package sink

import (
	"strconv"
	"testing"
)

func TestRememberedTopicsAreBounded(t *testing.T) {
	k := &Kafka{opts: KafkaOptions{Topic: "default"}, topics: map[string]topicState{"default": {}}}
	for i := 0; i < 3*maxKnownTopics; i++ {
		k.remember("routed-"+strconv.Itoa(i), topicState{})
		if len(k.topics) > maxKnownTopics {
			t.Fatalf("after %d routed topics the sink remembers %d, more than %d", i+1, len(k.topics), maxKnownTopics)
		}
	}
	if _, ok := k.topics["default"]; !ok {
		t.Fatal("the default topic was forgotten")
	}
	k.remember("routed-again", topicState{misses: 2})
	if st := k.topics["routed-again"]; st.misses != 2 {
		t.Fatalf("state of a remembered topic = %+v", st)
	}
}
