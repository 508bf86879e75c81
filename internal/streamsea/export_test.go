package streamsea

// SyncLog is syncLog for the tests of package streamsea_test.
type SyncLog = syncLog
