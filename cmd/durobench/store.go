package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/lib/pq" // database/sql driver for creating and dropping bench schemas

	"github.com/duroxide-go/duroxide/history"
	"github.com/duroxide-go/duroxide/pgstore"
	"github.com/duroxide-go/duroxide/sqlitestore"
)

// benchDB is a fresh database for one run: the runtime's store, a way to open a second
// handle on it (for cross-process clients), its durability mode, and its removal.
type benchDB struct {
	store      history.Store
	durability string
	openOther  func(ctx context.Context) (history.Store, error)
	cleanup    func() error
}

// openDB creates a fresh database for run number runIndex.
func openDB(ctx context.Context, c *config, runIndex int) (*benchDB, error) {
	switch c.store {
	case "sqlite-mem":
		s, err := sqlitestore.InMemory()
		if err != nil {
			return nil, err
		}
		return &benchDB{store: s, durability: "memory", cleanup: s.Close}, nil
	case "sqlite":
		dir, err := os.MkdirTemp(c.dir, "durobench-*")
		if err != nil {
			return nil, fmt.Errorf("database folder: %w", err)
		}
		path := filepath.Join(dir, "bench.db")
		var opts []sqlitestore.Option
		durability := "FULL"
		if c.sync == "normal" {
			opts = append(opts, sqlitestore.WithSynchronousNormal())
			durability = "NORMAL"
		}
		s, err := sqlitestore.Open(path, opts...)
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		return &benchDB{
			store:      s,
			durability: durability,
			openOther: func(context.Context) (history.Store, error) {
				return sqlitestore.Open(path, opts...)
			},
			cleanup: func() error { return errors.Join(s.Close(), os.RemoveAll(dir)) },
		}, nil
	default:
		return openPostgres(ctx, c, runIndex)
	}
}

// openPostgres connects to a fresh schema, dropped by cleanup.
func openPostgres(ctx context.Context, c *config, runIndex int) (*benchDB, error) {
	admin, err := sql.Open("postgres", c.pgURL)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	var syncCommit string
	if err := admin.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&syncCommit); err != nil {
		admin.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	schema := fmt.Sprintf("durobench_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000, runIndex)
	var opts []pgstore.Option
	if c.pgMaxConns > 0 {
		opts = append(opts, pgstore.WithMaxConns(c.pgMaxConns))
	}
	connect := func(ctx context.Context) (history.Store, error) {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return pgstore.ConnectWithSchema(cctx, c.pgURL, schema, opts...)
	}
	s, err := connect(ctx)
	if err != nil {
		admin.Close()
		return nil, err
	}
	drop := func() error {
		_, err := admin.ExecContext(context.Background(), `DROP SCHEMA IF EXISTS "`+schema+`" CASCADE`)
		return errors.Join(err, admin.Close())
	}
	return &benchDB{
		store:      s,
		durability: "synchronous_commit=" + syncCommit,
		openOther:  connect,
		cleanup:    func() error { return errors.Join(s.(*pgstore.Store).Close(), drop()) },
	}, nil
}
