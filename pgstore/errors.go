package pgstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"

	"github.com/duroxide-go/duroxide/history"
	"github.com/lib/pq"
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
// in a *history.StoreError saying whether retrying may help. When ctx has ended, the
// error also wraps ctx.Err() (pq reports an interrupted statement as its own error).
func wrap(ctx context.Context, op string, err error) error {
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
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	return &history.StoreError{Op: op, Err: err, Retryable: retryable(err)}
}

// retryable classifies a failure. Retrying may help after connection failures (class
// 08, broken or refused connections, a server shutting down or starting up: 57P01..
// 57P03), serialization failures (40001), deadlocks (40P01), lock timeouts (55P03),
// exhausted resources (class 53, e.g. too many connections), system errors (class 58),
// a read-only server after a failover (25006) and deadline expiry. It will not help
// after constraint violations (class 23), data errors (class 22), SQL or privilege
// errors (class 42), corrupt rows, codec errors, invalid requests or cancellation.
func retryable(err error) bool {
	var c errCorrupt
	var inv errInvalid
	switch {
	case errors.As(err, &c), errors.As(err, &inv), errors.Is(err, history.ErrCodec), errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return true
	}
	if pe := pq.As(err); pe != nil {
		switch pe.Code.Class() {
		case "08", "53", "58":
			return true
		}
		switch pe.Code {
		case "40001", "40P01", "40003", "55P03", "57P01", "57P02", "57P03", "57P04", "57P05", "57014", "25006":
			return true
		}
		return false
	}
	var ne net.Error
	return errors.As(err, &ne)
}

// transient reports a conflict between concurrent transactions (serialization failure
// or deadlock) that the store retries by itself before reporting it.
func transient(err error) bool {
	return pq.As(err, "40001", "40P01") != nil
}

// permanentConnectError reports a failure of Connect that waiting will not cure: wrong
// credentials or database name, missing privileges, a schema written by a newer build.
func permanentConnectError(err error) bool {
	if errors.Is(err, ErrSchemaTooNew) {
		return true
	}
	if pe := pq.As(err); pe != nil {
		switch pe.Code.Class() {
		case "28", "42":
			return true
		}
		return pe.Code == "3D000" || pe.Code == "3F000"
	}
	return false
}
