package synthetic

import "errors"

// ErrBadOptions: the Options cannot drive a generator; the message says which field.
var ErrBadOptions = errors.New("bad synthetic generator options")

// ErrOverflow: a price or volume grew beyond what a decimal holds (19 digits); lower the
// volatility or the start price.
var ErrOverflow = errors.New("synthetic value out of decimal range")
