package config

import (
	"fmt"
	"path/filepath"
)

// minSpoolBytes is the smallest spool.max_bytes accepted.
const minSpoolBytes = 1 << 20

// spool checks [pipelines.spool]: only a stream-sea source has one, and it is on only with a
// dir.
func (v *validator) spool(path string, s Spool, source Endpoint) {
	if !s.Enabled() {
		if s != DefaultSpool() {
			v.add(path+".dir", "required: the spool is on only with a dir (the other spool keys are set)")
		}
		return
	}
	if source != EndpointStreamsea {
		v.add(path, "only a stream-sea source can have a spool (a Kafka source reads again from its committed offsets)")
		return
	}
	if s.MaxBytes < minSpoolBytes {
		v.add(path+".max_bytes", "must be at least %d (1 MiB), not %d", minSpoolBytes, s.MaxBytes)
	}
	if s.MaxAge < 0 {
		v.add(path+".max_age", "must not be negative (0: no limit), not %s", s.MaxAge)
	}
	v.oneOf(path+".when_full", s.WhenFull, enumOf[Spool]("when_full")...)
	v.oneOf(path+".fsync", s.Fsync, enumOf[Spool]("fsync")...)
	v.positive(path+".fsync_interval", s.FsyncInterval)
}

// spoolDirs checks that no two pipelines share a spool directory: one process cannot open a
// spool twice, nor two processes one spool.
func (v *validator) spoolDirs() {
	owner := map[string]string{}
	for i := range v.cfg.Pipelines {
		p := &v.cfg.Pipelines[i]
		if !p.Spool.Enabled() {
			continue
		}
		dir := filepath.Clean(p.Spool.Dir)
		if other, ok := owner[dir]; ok {
			v.add(p.path(i)+".spool.dir", "%q is the spool dir of %s too: each pipeline needs its own", p.Spool.Dir, other)
			continue
		}
		owner[dir] = fmt.Sprintf("pipeline %q", p.Name)
	}
}
