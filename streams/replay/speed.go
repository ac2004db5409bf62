package replay

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParseSpeed parses a replay speed: "max" (or "0") replays as fast as possible and returns
// 0; a positive number is a multiple of real time ("1" real time, "60" or "60x" sixty
// times faster, "0.5" half speed). Anything else is an error wrapping ErrBadSpeed.
func ParseSpeed(s string) (float64, error) {
	text := strings.ToLower(strings.TrimSpace(s))
	if text == "max" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(text, "x"), 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%w: %q: want \"max\" (or 0: as fast as possible) or a positive multiple of real time such as 1, 60 or 0.5", ErrBadSpeed, s)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%w: %q is not a finite number; use \"max\" to replay as fast as possible", ErrBadSpeed, s)
	case v < 0:
		return 0, fmt.Errorf("%w: %q is negative; want \"max\" (or 0) or a positive multiple of real time", ErrBadSpeed, s)
	}
	return v, nil
}

// checkSpeed validates Options.Speed.
func checkSpeed(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("%w: %v: want 0 (as fast as possible) or a positive multiple of real time", ErrBadSpeed, v)
	}
	return nil
}
