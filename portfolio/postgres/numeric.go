package postgres

import (
	"encoding/binary"
	"strconv"

	"github.com/govalues/decimal"
	"github.com/jackc/pgx/v5/pgtype"
)

// RegisterDecimal lets the connection of m send a decimal.Decimal as a numeric parameter or
// COPY value, exactly (coefficient and scale kept: 0.02500 stays 0.02500), without going
// through math/big: pgx's own numeric encoding of a pgtype.Numeric divides big integers
// for every value, which was a tenth of the projector's CPU. Everything else numeric is
// left to pgx's codec. Open registers it on every connection of its pool.
func RegisterDecimal(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{Name: "numeric", OID: pgtype.NumericOID, Codec: numericCodec{}})
}

// numericCodec is pgx's NumericCodec that also encodes decimal.Decimal.
type numericCodec struct{ pgtype.NumericCodec }

func (c numericCodec) PlanEncode(m *pgtype.Map, oid uint32, format int16, value any) pgtype.EncodePlan {
	if _, ok := value.(decimal.Decimal); ok {
		switch format {
		case pgtype.BinaryFormatCode:
			return encodeDecimalBinary{}
		case pgtype.TextFormatCode:
			return encodeDecimalText{}
		}
	}
	return c.NumericCodec.PlanEncode(m, oid, format, value)
}

type encodeDecimalText struct{}

func (encodeDecimalText) Encode(value any, buf []byte) ([]byte, error) {
	return append(buf, value.(decimal.Decimal).String()...), nil
}

type encodeDecimalBinary struct{}

// Encode appends the decimal in Postgres's binary numeric format: ndigits, weight, sign and
// dscale (16 bits each), then ndigits base-10,000 digits, most significant first, the first
// one worth 10,000^weight; dscale is the number of decimal places shown. The digits are
// laid out as pgx lays out a pgtype.Numeric's (the groups of the integer part without
// leading zeros, then every group of the fraction, the last padded with zeros), so both
// send the same bytes for the same value.
func (encodeDecimalBinary) Encode(value any, buf []byte) ([]byte, error) {
	d := value.(decimal.Decimal)
	scale := d.Scale()
	// The coefficient's decimal digits, left-padded with zeros to show an integer digit.
	var text [48]byte
	const at = 24 // room on the left for the padding (a scale is at most 19)
	digits := strconv.AppendUint(text[at:at], d.Coef(), 10)
	if n := len(digits); n <= scale {
		start := at - (scale + 1 - n)
		for i := start; i < at; i++ {
			text[i] = '0'
		}
		digits = text[start : at+n]
	}
	intPart, frac := digits[:len(digits)-scale], digits[len(digits)-scale:]
	for len(intPart) > 0 && intPart[0] == '0' {
		intPart = intPart[1:]
	}
	intGroups, fracGroups := (len(intPart)+3)/4, (scale+3)/4
	ndigits, weight := intGroups+fracGroups, intGroups-1
	var sign uint16
	if d.IsNeg() {
		sign = 0x4000
	}
	buf = binary.BigEndian.AppendUint16(buf, uint16(ndigits))
	buf = binary.BigEndian.AppendUint16(buf, uint16(int16(weight)))
	buf = binary.BigEndian.AppendUint16(buf, sign)
	buf = binary.BigEndian.AppendUint16(buf, uint16(scale))
	// The integer part's groups, the first one short if its length is not a multiple of 4.
	for end := len(intPart) - (intGroups-1)*4; end <= len(intPart); end += 4 {
		buf = binary.BigEndian.AppendUint16(buf, group(intPart[max(0, end-4):end]))
	}
	for g := range fracGroups {
		chunk := frac[g*4 : min(g*4+4, len(frac))]
		v := group(chunk)
		for range 4 - len(chunk) { // the last group is padded with zeros on the right
			v *= 10
		}
		buf = binary.BigEndian.AppendUint16(buf, v)
	}
	return buf, nil
}

// group is the value of up to four decimal digits.
func group(digits []byte) uint16 {
	var v uint16
	for _, c := range digits {
		v = v*10 + uint16(c-'0')
	}
	return v
}
