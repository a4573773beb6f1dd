package sqlitestore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/duroxide-go/duroxide/history"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// errCorrupt marks a row that cannot be read back: retrying does not help.
type errCorrupt struct{ err error }

func (e errCorrupt) Error() string { return "corrupt row: " + e.err.Error() }
func (e errCorrupt) Unwrap() error { return e.err }

func corrupt(format string, args ...any) error {
	return errCorrupt{fmt.Errorf(format, args...)}
}

// errInvalid marks a request the store cannot carry out as given.
type errInvalid struct{ err error }

func (e errInvalid) Error() string { return e.err.Error() }
func (e errInvalid) Unwrap() error { return e.err }

func invalid(format string, args ...any) error {
	return errInvalid{fmt.Errorf(format, args...)}
}

// wrap passes the contract's sentinels and StoreErrors through and wraps anything else
// in a *history.StoreError saying whether retrying may help.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, history.ErrNotFound) || errors.Is(err, history.ErrAlreadyExists) || errors.Is(err, history.ErrLockLost) {
		return err
	}
	var se *history.StoreError
	if errors.As(err, &se) {
		return err
	}
	return &history.StoreError{Op: op, Err: err, Retryable: retryable(err)}
}

// retryable classifies a failure: contention (SQLITE_BUSY, SQLITE_LOCKED), I/O and
// connection failures and timeouts may pass; constraint violations, corrupt rows,
// codec errors, invalid requests and cancellations will not.
func retryable(err error) bool {
	var c errCorrupt
	var inv errInvalid
	switch {
	case errors.As(err, &c), errors.As(err, &inv), errors.Is(err, history.ErrCodec), errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone):
		return true
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked, sqlite3.ErrIoErr, sqlite3.ErrFull,
			sqlite3.ErrProtocol, sqlite3.ErrNomem, sqlite3.ErrCantOpen:
			return true
		}
		return false
	}
	return false
}
