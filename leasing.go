package duroxide

import (
	"context"
	"errors"
	"time"

	"github.com/duroxide-go/duroxide/history"
)

// Commit-and-dispatch. When a turn schedules activities and some of this runtime's
// workers are idle, the turn's commit queues up to that many activities already locked
// for this runtime (history.Commit.LeaseActivities) and the workers get the leases
// through a channel: no fetch transaction, no wake-up through the store. Activities
// beyond the idle workers, with a session, with a tag the workers do not take, or not
// registered here are queued for fetching as before, so other runtimes get them too.

// leasedActivity is a lease handed from a commit to a worker.
type leasedActivity struct {
	lease    history.ActivityLease
	leasedAt time.Time
}

// leaseRequest says how many of a commit's activities to lease: as many as there are
// idle workers not yet promised a lease, reserving that many places in the hand-over
// channel (so that a lease never finds it full); nil for none. Leasing only to idle
// workers keeps activities from waiting in this runtime while other runtimes could run
// them. dispatchLeases gives back the places the commit did not use.
func (rt *Runtime) leaseRequest(c *history.Commit) *history.ActivityLeaseRequest {
	if rt.workers == 0 || len(c.Activities) == 0 || rt.stopping.Load() {
		return nil
	}
	for {
		r := rt.leaseReserved.Load()
		free := min(int64(rt.idleWorkers.Load()), int64(cap(rt.leased))) - r
		n := min(free, int64(len(c.Activities)))
		if n <= 0 {
			return nil
		}
		if rt.leaseReserved.CompareAndSwap(r, r+n) {
			return &history.ActivityLeaseRequest{Max: int(n), LockTimeout: rt.opts.WorkerLockTimeout, Eligible: rt.leaseEligible}
		}
	}
}

// leaseEligible says whether this runtime's workers run w as soon as they get it.
func (rt *Runtime) leaseEligible(w history.ActivityWork) bool {
	if w.SessionID != "" || !rt.opts.WorkerTagFilter.Matches(w.Tag) {
		return false
	}
	_, ok := rt.activityFunc(w.Name)
	return ok
}

// dispatchLeases hands a commit's leases to the workers through the places req
// reserved, and gives back the places left unused. Once the runtime is stopping, leases
// are released at once without counting an attempt, for any runtime to fetch.
func (rt *Runtime) dispatchLeases(req *history.ActivityLeaseRequest, leases []history.ActivityLease) {
	if req == nil {
		return
	}
	rt.leaseReserved.Add(int64(len(leases) - req.Max))
	now := time.Now()
	for _, l := range leases {
		if !rt.stopping.Load() {
			select {
			case rt.leased <- leasedActivity{lease: l, leasedAt: now}:
				continue
			default: // not reached: the place was reserved
			}
		}
		rt.leaseReserved.Add(-1)
		rt.releaseLease(l)
	}
}

// takeLease returns a handed-over lease for running, or nil when it waited so long that
// its lock may be close to expiring (then it is released for a fetch).
func (rt *Runtime) takeLease(la leasedActivity) *history.ActivityLease {
	rt.leaseReserved.Add(-1)
	if time.Since(la.leasedAt) > rt.opts.WorkerLockTimeout/2 {
		rt.releaseLease(la.lease)
		return nil
	}
	l := la.lease
	return &l
}

// releaseLease unlocks a leased activity, not counting the attempt.
func (rt *Runtime) releaseLease(l history.ActivityLease) {
	bg := context.Background()
	err := retryStore(bg, 3, func() error { return rt.store.AbandonActivity(bg, l.LockToken, 0, true) })
	if err != nil && !errors.Is(err, history.ErrLockLost) {
		rt.log.activity.Warn().Err(err).Str("instance_id", l.Work.Instance).Uint64("activity_id", l.Work.ID).
			Msg("releasing a leased activity failed; its lock will expire")
	}
}

// releaseLeases releases the leases no worker took before the runtime stopped.
func (rt *Runtime) releaseLeases() {
	for {
		select {
		case la := <-rt.leased:
			rt.leaseReserved.Add(-1)
			rt.releaseLease(la.lease)
		default:
			return
		}
	}
}
