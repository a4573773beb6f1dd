package duroxide

import (
	"context"
	"fmt"
)

// GetKVAllValues reads the instance's whole KV store (the current execution's writes
// included) as a map of key to value; an instance without keys gives an empty map.
// An unknown instance gives ErrNotFound, so callers can tell "no keys" from "no
// instance".
func (c *Client) GetKVAllValues(ctx context.Context, instanceID string) (map[string]string, error) {
	if _, err := c.store.InstanceState(ctx, instanceID); err != nil {
		return nil, fmt.Errorf("kv of %q: %w", instanceID, err)
	}
	kv, err := c.store.GetAllKV(ctx, instanceID)
	if err != nil {
		return nil, fmt.Errorf("kv of %q: %w", instanceID, err)
	}
	if kv == nil {
		kv = map[string]string{}
	}
	return kv, nil
}
