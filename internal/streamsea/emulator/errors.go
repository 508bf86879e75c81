package emulator

import "errors"

// Sentinel errors. Handlers map them to HTTP statuses; callers match them with errors.Is.
var (
	// ErrNoClients is returned by New when Options.Clients is empty.
	ErrNoClients = errors.New("emulator: at least one client is required")
	// ErrBadOptions is returned by New for an invalid option value.
	ErrBadOptions = errors.New("emulator: invalid options")
	// ErrClosed is returned by Start after Close, or a second Start.
	ErrClosed = errors.New("emulator: server closed or already started")
	// ErrClientsFile is returned by LoadClientsFile for an unreadable or invalid file.
	ErrClientsFile = errors.New("emulator: invalid clients file")

	errNotFound       = errors.New("not found")
	errConflict       = errors.New("conflict")
	errBadRequest     = errors.New("bad request")
	errPublishTimeout = errors.New("a subscriber queue stayed full past the block timeout")
	errUnknownJail    = errors.New("unknown jail")
)
