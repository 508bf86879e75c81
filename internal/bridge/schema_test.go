package bridge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/seabridge/seabridge/internal/streamsea"
	"github.com/seabridge/seabridge/internal/testkit/kafkatest"
)

// serverSchema is the record schema with seq as a float, at the given version.
func serverSchema(stream string, version streamsea.Version) *streamsea.Schema {
	return &streamsea.Schema{Name: stream, Version: version, Fields: []streamsea.Field{
		{Name: "id", Type: streamsea.TypeString},
		{Name: "key", Type: streamsea.TypeString},
		{Name: "seq", Type: streamsea.TypeFloat},
	}}
}

// TestSchemaConflicts starts a Kafka -> stream-sea pipeline configured with schema version 1
// against a stream that already holds another definition.
func TestSchemaConflicts(t *testing.T) {
	tests := []struct {
		name          string
		serverVersion streamsea.Version
		onConflict    string
		// wantErr lists what Run's error must name; empty: the pipeline runs.
		wantErr []string
	}{
		{"same version, other definition", 1, "fail",
			[]string{`"conflict"`, `"alarms"`, "version 1", `field "seq": type changed from integer to float`}},
		{"same version, other definition, use_server", 1, "use_server",
			[]string{`"conflict"`, `"alarms"`, "version 1", `field "seq": type changed from integer to float`}},
		{"newer version on the server", 2, "fail",
			[]string{`"conflict"`, `"alarms"`, "version 2", "configured version 1", "use_server"}},
		{"newer version on the server, use_server", 2, "use_server", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			brokers := kafkatest.Brokers(t)
			w := newWorld(t, brokers)
			kafkatest.CreateTopic(t, brokers, "in", 1)
			if _, err := w.rest.DefineStream(context.Background(), serverSchema("alarms", tt.serverVersion)); err != nil {
				t.Fatalf("define the server's schema: %v", err)
			}
			p := k2sPipe("conflict", "in", "group", "alarms")
			p.sinkLines = append(p.sinkLines, `on_schema_conflict = "`+tt.onConflict+`"`)
			var sub *collector
			if tt.wantErr == nil {
				sub = w.collect(p.stream)
			}
			app := w.start("a", w.config(settings{}, p))
			if tt.wantErr != nil {
				err := app.wait(t, flowTimeout, "with a schema conflict")
				if err == nil {
					t.Fatal("Run = nil, want a schema conflict error")
				}
				for _, s := range tt.wantErr {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Run = %v\nwant it to name %s", err, s)
					}
				}
				return
			}
			want := makeRecords("k2s", 0, 100, 3)
			kafkatest.Produce(t, brokers, p.topic, kafkaMessages(want)...)
			sub.awaitIDs(t, want, flowTimeout)
			if err := app.stop(t); err != nil {
				t.Errorf("Run after cancel = %v, want nil", err)
			}
			checkExactly(t, want, sub.snapshot())
			got, err := w.rest.DescribeStream(context.Background(), p.stream)
			if err != nil || !got.Equal(serverSchema(p.stream, tt.serverVersion)) {
				t.Errorf("server schema after the run %+v (%v), want the server's version %d untouched", got, err, tt.serverVersion)
			}
		})
	}
}
