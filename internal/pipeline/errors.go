package pipeline

import "errors"

var (
	// ErrInvalidOptions is returned by NewRunner when Options are incomplete or inconsistent.
	ErrInvalidOptions = errors.New("invalid pipeline options")
	// ErrPoisonMessage stops a runner that has no dead-letter destination and OnPoison "stop";
	// the wrapping error names the message and the reason.
	ErrPoisonMessage = errors.New("poison message")
	// ErrDeadLetterRefused stops a runner whose DeadLetter refused messages for good (it
	// returned a *PoisonError): they can be neither written nor dead-lettered.
	ErrDeadLetterRefused = errors.New("the dead-letter destination refused messages for good")
	// ErrShutdownTimeout is returned by Run when the shutdown budget expired before everything
	// read had been written; the unwritten messages were nacked.
	ErrShutdownTimeout = errors.New("shutdown budget expired")
	// ErrUndelivered is returned by Run when the source (an UndeliveredReporter) received
	// messages that it never handed to the runner; they are lost.
	ErrUndelivered = errors.New("received by the source and never read")
	// ErrWriteAbandoned is wrapped by the error of a Sink's (or a DeadLetterConnector's) Close
	// that gave up on a write still in flight when the close budget ran out. Its messages were
	// nacked before (the shutdown budget had run out), and may or may not be at the destination.
	ErrWriteAbandoned = errors.New("gave up on a write in flight")
)

var (
	// ErrStopped is the nack cause of messages still queued when the runner stopped on a fatal
	// error.
	ErrStopped = errors.New("pipeline stopped before the message was written")
	// ErrAlreadyStarted is returned by a second call of Runner.Run.
	ErrAlreadyStarted = errors.New("runner already started")
	// ErrDrained is returned (wrapped) by Read of an IntakeStopper once StopIntake was called
	// and every message it had received was read.
	ErrDrained = errors.New("source drained")
)
