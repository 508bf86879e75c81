package streamsea

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestVersionUnmarshalJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr string // a substring of the error; "" means success
	}{
		{`0`, 0, ""},
		{`3`, 3, ""},
		{`3.0`, 3, ""},
		{`2e1`, 20, ""},
		{`9223372036854775807`, 9223372036854775807, ""},
		{`"3"`, 3, ""},
		{`"42"`, 42, ""},
		{`"0"`, 0, ""},
		{`3.5`, 0, "not a whole number"},
		{`"3.5"`, 0, "not a whole number"},
		{`-1`, 0, "must not be negative"},
		{`"-1"`, 0, "must not be negative"},
		{`9223372036854775808`, 0, "out of range"},
		{`""`, 0, "not a whole number"},
		{`" 3"`, 0, "not a whole number"},
		{`"3 "`, 0, "not a whole number"},
		{`"abc"`, 0, "not a whole number"},
		{`"0x10"`, 0, "not a whole number"},
		{`"\u0033"`, 0, "not a whole number"},
		{`null`, 0, "want a number or a string"},
		{`true`, 0, "want a number or a string"},
		{`[3]`, 0, "want a number or a string"},
		{`{}`, 0, "want a number or a string"},
		{`03`, 0, "not a whole number"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v Version
			err := v.UnmarshalJSON([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil || v != tt.want {
					t.Fatalf("UnmarshalJSON(%s) = %d, %v; want %d", tt.in, v, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("UnmarshalJSON(%s) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
			}
		})
	}
}

func TestVersionThroughEncodingJSON(t *testing.T) {
	var s struct {
		V  Version    `json:"v"`
		VS []*Version `json:"vs"`
	}
	if err := json.Unmarshal([]byte(`{"v":"7","vs":[1,null,"2"]}`), &s); err != nil {
		t.Fatal(err)
	}
	if s.V != 7 || len(s.VS) != 3 || *s.VS[0] != 1 || s.VS[1] != nil || *s.VS[2] != 2 {
		t.Fatalf("decoded %+v", s)
	}
	out, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"v":7,"vs":[1,null,2]}`; string(out) != want {
		t.Fatalf("Marshal = %s, want %s", out, want)
	}
}
