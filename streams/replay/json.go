package replay

// A small JSON scanner for Binance frames. encoding/json works too, but it is several times
// slower on these frames and matches keys case-insensitively, a trap here because Binance
// uses "e" and "E", "b" and "B", "t" and "T" for different fields. This scanner walks an
// object's members once, handing out each key and the raw bytes of its value; the value
// helpers below turn raw bytes into strings, integers, booleans, decimals and price levels.
// It is strict enough for its job, not a full validator: a nested value is skipped by
// matching brackets without checking its contents.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/govalues/decimal"
	"github.com/synapse-trading/synapse/streams"
)

var errSyntax = errors.New("invalid JSON")

// walkObject calls fn with the key and raw value of each member of the JSON object that is
// the whole of data (leading and trailing white space allowed). Keys are passed as written,
// without their quotes.
func walkObject(data []byte, fn func(key, value []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return fmt.Errorf("%w: not an object", errSyntax)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return trailing(data, i+1)
	}
	for {
		if i >= len(data) || data[i] != '"' {
			return fmt.Errorf("%w: expected a key at byte %d", errSyntax, i)
		}
		end, err := scanString(data, i)
		if err != nil {
			return err
		}
		key := data[i+1 : end-1]
		i = skipSpace(data, end)
		if i >= len(data) || data[i] != ':' {
			return fmt.Errorf("%w: expected ':' at byte %d", errSyntax, i)
		}
		i = skipSpace(data, i+1)
		end, err = scanValue(data, i)
		if err != nil {
			return err
		}
		if err := fn(key, data[i:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return fmt.Errorf("%w: object not closed", errSyntax)
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return trailing(data, i+1)
		default:
			return fmt.Errorf("%w: expected ',' or '}' at byte %d", errSyntax, i)
		}
	}
}

// walkArray calls fn with the raw bytes of each element of the JSON array that is the whole
// of data.
func walkArray(data []byte, fn func(elem []byte) error) error {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '[' {
		return fmt.Errorf("%w: not an array", errSyntax)
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == ']' {
		return trailing(data, i+1)
	}
	for {
		end, err := scanValue(data, i)
		if err != nil {
			return err
		}
		if err := fn(data[i:end]); err != nil {
			return err
		}
		i = skipSpace(data, end)
		if i >= len(data) {
			return fmt.Errorf("%w: array not closed", errSyntax)
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case ']':
			return trailing(data, i+1)
		default:
			return fmt.Errorf("%w: expected ',' or ']' at byte %d", errSyntax, i)
		}
	}
}

// trailing checks that only white space follows position i.
func trailing(data []byte, i int) error {
	if skipSpace(data, i) != len(data) {
		return fmt.Errorf("%w: unexpected data after the value at byte %d", errSyntax, i)
	}
	return nil
}

func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the position just after the string that starts at data[i] == '"'.
func scanString(data []byte, i int) (int, error) {
	for j := i + 1; j < len(data); j++ {
		switch data[j] {
		case '\\':
			j++ // skip the escaped character
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: string not closed", errSyntax)
}

// scanValue returns the position just after the value that starts at data[i].
func scanValue(data []byte, i int) (int, error) {
	if i >= len(data) {
		return 0, fmt.Errorf("%w: missing value", errSyntax)
	}
	switch data[i] {
	case '"':
		return scanString(data, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(data); j++ {
			switch data[j] {
			case '"':
				end, err := scanString(data, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, fmt.Errorf("%w: object or array not closed", errSyntax)
	case ',', ':', '}', ']':
		return 0, fmt.Errorf("%w: missing value at byte %d", errSyntax, i)
	}
	// A number or a literal (true, false, null): runs to the next delimiter.
	j := i
	for j < len(data) {
		switch data[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j, nil
		case '"', '{', '[', ':':
			return 0, fmt.Errorf("%w: unexpected %q at byte %d", errSyntax, data[j], j)
		}
		j++
	}
	return j, nil
}

// jsonString returns the text of a raw JSON string value.
func jsonString(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", fmt.Errorf("not a string")
	}
	inner := raw[1 : len(raw)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), nil
	}
	var s string // escapes are rare: let encoding/json decode them
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("not a valid string")
	}
	return s, nil
}

// unquote returns the text of a raw JSON string value as bytes, without copying when the
// string holds no escapes.
func unquote(raw []byte) ([]byte, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.IndexByte(raw, '\\') < 0 {
		return raw[1 : len(raw)-1], nil
	}
	s, err := jsonString(raw)
	return []byte(s), err
}

// jsonInt returns the value of a raw JSON integer.
func jsonInt(raw []byte) (int64, error) {
	neg := len(raw) > 0 && raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	if len(digits) == 0 || len(digits) > 19 {
		return 0, fmt.Errorf("not an integer")
	}
	var v int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("not an integer")
		}
		d := int64(c - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("integer overflows int64")
		}
		v = v*10 + d
	}
	if neg {
		v = -v
	}
	return v, nil
}

// jsonBool returns the value of a raw JSON boolean.
func jsonBool(raw []byte) (bool, error) {
	switch string(raw) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

// jsonDecimal returns the exact decimal in a raw JSON string ("61837.63") or number.
func jsonDecimal(raw []byte) (decimal.Decimal, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		raw = raw[1 : len(raw)-1]
	}
	var d decimal.Decimal
	if err := d.UnmarshalText(raw); err != nil {
		return decimal.Decimal{}, fmt.Errorf("not a decimal number")
	}
	return d, nil
}

// jsonLevels returns the price levels of a raw array of [price, qty] pairs. Prices must be
// positive and quantities not negative (zero removes a level in a depth update).
func jsonLevels(raw []byte) ([]streams.Level, error) {
	levels := make([]streams.Level, 0, max(bytes.Count(raw, []byte{'['})-1, 0))
	err := walkArray(raw, func(elem []byte) error {
		var lv streams.Level
		n := 0
		err := walkArray(elem, func(v []byte) error {
			d, err := jsonDecimal(v)
			if err != nil {
				return err
			}
			switch n {
			case 0:
				lv.Price = d
			case 1:
				lv.Qty = d
			}
			n++
			return nil
		})
		if err != nil {
			return fmt.Errorf("level %d: %w", len(levels)+1, err)
		}
		if n != 2 {
			return fmt.Errorf("level %d has %d values, want [price, qty]", len(levels)+1, n)
		}
		if !lv.Price.IsPos() {
			return fmt.Errorf("level %d: price %s is not positive", len(levels)+1, lv.Price)
		}
		if lv.Qty.IsNeg() {
			return fmt.Errorf("level %d: quantity %s is negative", len(levels)+1, lv.Qty)
		}
		levels = append(levels, lv)
		return nil
	})
	return levels, err
}
