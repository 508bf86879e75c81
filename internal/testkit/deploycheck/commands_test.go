package deploycheck

import "testing"

func TestBridgeCommands(t *testing.T) {
	cmds := BridgeCommands(t)
	for _, want := range []string{"run", "validate", "emulator", "version"} {
		if _, ok := cmds[want]; !ok {
			t.Errorf("subcommand %q not found; found %v", want, cmds)
		}
	}
	if !cmds["run"]["config"] || !cmds["emulator"]["listen"] || !cmds["validate"]["connect"] {
		t.Errorf("flags not found: run %v, emulator %v, validate %v", cmds["run"], cmds["emulator"], cmds["validate"])
	}
	if _, ok := cmds["bench"]; ok && !cmds["bench"]["kafka"] {
		t.Errorf("bench: flag --kafka (fs.StringVar) not found: %v", cmds["bench"])
	}
	tests := []struct {
		args     []string
		problems int
	}{
		{[]string{"run", "--config", "/etc/b.toml"}, 0},
		{[]string{"run", "--config=/etc/b.toml"}, 0},
		{[]string{"emulator", "--listen", "0.0.0.0:3104", "--client-id", "a"}, 0},
		{[]string{"serve"}, 1},
		{[]string{"run", "--cfg", "x"}, 2}, // unknown flag, then a stray argument
		{nil, 1},
	}
	for _, tt := range tests {
		if _, got := cmds.Check(tt.args); len(got) != tt.problems {
			t.Errorf("checkCommandLine(%q) = %q, want %d problems", tt.args, got, tt.problems)
		}
	}
}
