package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), filepath.Join(t.TempDir(), "saga.db"), &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		`Ada (Lisbon): {"booked":true,"confirmations":["flight-ada","hotel-ada","car-ada"]}`,
		`Bob (Reykjavik): {"booked":false,"reason":"Activity 'ReserveCar' call failed: no cars available in Reykjavik"}`,
		// Bob's completed steps are undone newest first.
		"Bob: ReserveFlight, Bob: ReserveHotel, Bob: ReserveCar, Bob: CancelHotel, Bob: CancelFlight",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}
