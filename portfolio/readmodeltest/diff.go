package readmodeltest

import (
	"fmt"
	"reflect"

	"github.com/govalues/decimal"
)

var decimalType = reflect.TypeFor[decimal.Decimal]()

// diff lists where got differs from want. Decimals compare by value ("1.50" equals "1.5":
// a Postgres NUMERIC may keep another scale than the Go fold); unexported fields are not
// compared; a nil and an empty slice are equal.
func diff(got, want any) []string {
	var out []string
	walk(&out, "", reflect.ValueOf(got), reflect.ValueOf(want))
	return out
}

func walk(out *[]string, path string, g, w reflect.Value) {
	if len(*out) >= 20 {
		return
	}
	if !g.IsValid() || !w.IsValid() {
		if g.IsValid() != w.IsValid() {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
		}
		return
	}
	if g.Type() == decimalType {
		gd, wd := g.Interface().(decimal.Decimal), w.Interface().(decimal.Decimal)
		if gd.Cmp(wd) != 0 {
			*out = append(*out, fmt.Sprintf("%s: got %s, want %s", path, gd, wd))
		}
		return
	}
	switch g.Kind() {
	case reflect.Struct:
		for i := range g.NumField() {
			f := g.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			walk(out, path+"."+f.Name, g.Field(i), w.Field(i))
		}
	case reflect.Slice:
		if g.Len() != w.Len() {
			*out = append(*out, fmt.Sprintf("%s: got %d items, want %d", path, g.Len(), w.Len()))
			return
		}
		for i := range g.Len() {
			walk(out, fmt.Sprintf("%s[%d]", path, i), g.Index(i), w.Index(i))
		}
	case reflect.Map:
		for _, k := range w.MapKeys() {
			walk(out, fmt.Sprintf("%s[%v]", path, k), g.MapIndex(k), w.MapIndex(k))
		}
		for _, k := range g.MapKeys() {
			if !w.MapIndex(k).IsValid() {
				*out = append(*out, fmt.Sprintf("%s[%v]: got %v, want none", path, k, g.MapIndex(k)))
			}
		}
	case reflect.Pointer, reflect.Interface:
		walk(out, path, g.Elem(), w.Elem())
	default:
		if !g.Equal(w) {
			*out = append(*out, fmt.Sprintf("%s: got %v, want %v", path, g, w))
		}
	}
}
