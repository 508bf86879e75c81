package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The ack cursor file holds the seq below which every record is acknowledged: the 8 bytes
// of cursorMagic, the seq (uint64) and a CRC-32C of both (uint32), little endian. It is
// replaced whole (written beside, then renamed), so it is either the old or the new one.
const (
	cursorFile  = "cursor"
	cursorMagic = "SBCURSR1"
	cursorBytes = 20
)

var errCursorCorrupt = errors.New("cursor file is corrupt")

// readCursor returns the persisted cursor: 0 when there is none, errCursorCorrupt (and 0)
// when the file is damaged.
func readCursor(dir string) (uint64, error) {
	b, err := os.ReadFile(filepath.Join(dir, cursorFile))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(b) != cursorBytes || string(b[:8]) != cursorMagic ||
		binary.LittleEndian.Uint32(b[16:20]) != crc32.Checksum(b[:16], castagnoli) {
		return 0, errCursorCorrupt
	}
	return binary.LittleEndian.Uint64(b[8:16]), nil
}

// writeCursor replaces the cursor file; with sync it is durable when writeCursor returns.
func writeCursor(dir string, seq uint64, sync bool) error {
	b := make([]byte, cursorBytes)
	copy(b, cursorMagic)
	binary.LittleEndian.PutUint64(b[8:16], seq)
	binary.LittleEndian.PutUint32(b[16:20], crc32.Checksum(b[:16], castagnoli))
	tmp := filepath.Join(dir, cursorFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, cursorFile))
	}
	if err == nil && sync {
		err = syncDir(dir)
	}
	return err
}

// syncDir makes the directory's entries (created, renamed, removed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
