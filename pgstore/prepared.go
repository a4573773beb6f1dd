package pgstore

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Server-side prepared statements. Parsing and planning a statement costs the server
// more than running it for most of this store's statements (measured: parse and bind
// were 57% of the server time of a one-activity orchestration). Statements run inside
// transactions through a ptx, which runs a statement the store has prepared through the
// transaction's own connection (database/sql prepares it there the first time, in the
// same round trip budget as one extra statement) and any other statement as it is.
//
// A statement is prepared in the background the first time it is seen, never inside
// the transaction that met it: preparing on the pool (db.PrepareContext) while holding
// a connection could wait for a free one forever when every connection is in a
// transaction doing the same. That first run, and any run while the preparation is
// under way, goes unprepared. The number of distinct statements prepared is bounded;
// statements beyond the bound always run unprepared.

// maxPrepared bounds the statements a Store prepares (each is prepared on up to every
// pooled connection). The store's hot paths use a few dozen distinct texts.
const maxPrepared = 256

// prepareTimeout bounds one background preparation.
const prepareTimeout = 10 * time.Second

// stmtCache is a Store's prepared statements, by query text.
type stmtCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
	limit   int // most statements prepared (maxPrepared)
	tries   int // preparations started, successful or not
	closed  bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newStmtCache(limit int) *stmtCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &stmtCache{stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}, limit: limit, ctx: ctx, cancel: cancel}
}

// get returns the prepared statement for query, or nil when it is not (yet) prepared;
// in that case it starts preparing it on db, unless the cache is full or closed.
func (c *stmtCache) get(db *sql.DB, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.stmts[query]; st != nil {
		return st
	}
	if c.closed || c.pending[query] || c.tries >= 2*c.limit || len(c.stmts)+len(c.pending) >= c.limit {
		return nil
	}
	c.pending[query] = true
	c.tries++
	c.wg.Add(1)
	go c.prepare(db, query)
	return nil
}

func (c *stmtCache) prepare(db *sql.DB, query string) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, prepareTimeout)
	defer cancel()
	st, err := db.PrepareContext(ctx, query)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pending, query)
	if err != nil {
		return // it runs unprepared; a later run tries again (tries bounds the attempts)
	}
	if c.closed {
		_ = st.Close()
		return
	}
	c.stmts[query] = st
}

// close stops the preparations under way, waits for them, and closes every prepared
// statement. Call it before closing the pool.
func (c *stmtCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

// size is the number of prepared statements.
func (c *stmtCache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.stmts)
}

// ptx runs the store's statements, prepared when the store has prepared them: inside the
// transaction Tx (database/sql prepares a statement on the transaction's connection the
// first time it runs there), or, when Tx is nil, as single statements on the pool
// (pdb).
type ptx struct {
	*sql.Tx
	s *Store
}

// pdb runs single statements on s's pool.
func pdb(s *Store) ptx { return ptx{s: s} }

// stmt is query's prepared statement, bound to the transaction if there is one; nil
// when the store has not prepared it (yet).
func (t ptx) stmt(ctx context.Context, query string) *sql.Stmt {
	st := t.s.stmts.get(t.s.db, query)
	if st == nil || t.Tx == nil {
		return st
	}
	return t.Tx.StmtContext(ctx, st)
}

// plain runs statements that are not prepared.
func (t ptx) plain() querier {
	if t.Tx == nil {
		return t.s.db
	}
	return t.Tx
}

// ExecContext runs query (prepared when the store has prepared it).
func (t ptx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.plain().ExecContext(ctx, query, args...)
}

// QueryContext runs query (prepared when the store has prepared it).
func (t ptx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.plain().QueryContext(ctx, query, args...)
}

// QueryRowContext runs query (prepared when the store has prepared it).
func (t ptx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.plain().QueryRowContext(ctx, query, args...)
}
