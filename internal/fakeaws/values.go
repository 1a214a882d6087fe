package fakeaws

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// fromCBOR turns a decoded CBOR value into plain Go values: maps, slices,
// strings, float64/int64, bool, nil, and time.Time for epoch tags.
func fromCBOR(v cbor.Value) any {
	switch vv := v.(type) {
	case cbor.Map:
		m := make(map[string]any, len(vv))
		for k, e := range vv {
			m[k] = fromCBOR(e)
		}
		return m
	case cbor.List:
		l := make([]any, len(vv))
		for i, e := range vv {
			l[i] = fromCBOR(e)
		}
		return l
	case cbor.String:
		return string(vv)
	case cbor.Uint:
		return int64(vv)
	case cbor.NegInt:
		return -int64(vv)
	case cbor.Float32:
		return float64(vv)
	case cbor.Float64:
		return float64(vv)
	case cbor.Bool:
		return bool(vv)
	case cbor.Slice:
		return []byte(vv)
	case *cbor.Tag:
		if t, err := cbor.AsTime(vv); err == nil {
			return t.UTC()
		}
		return fromCBOR(vv.Value)
	}
	return nil
}

// toCBOR encodes plain Go values (and, through a JSON round trip, structs
// with json tags) as CBOR, with time.Time as an epoch-seconds tag.
func toCBOR(v any) cbor.Value {
	switch vv := v.(type) {
	case nil:
		return &cbor.Nil{}
	case cbor.Value:
		return vv
	case map[string]any:
		m := make(cbor.Map, len(vv))
		for k, e := range vv {
			if e == nil {
				continue // absent members are omitted, as AWS does
			}
			m[k] = toCBOR(e)
		}
		return m
	case []any:
		l := make(cbor.List, len(vv))
		for i, e := range vv {
			l[i] = toCBOR(e)
		}
		return l
	case string:
		return cbor.String(vv)
	case bool:
		return cbor.Bool(vv)
	case float64:
		return cbor.Float64(vv)
	case float32:
		return cbor.Float64(vv)
	case int:
		return cborInt(int64(vv))
	case int32:
		return cborInt(int64(vv))
	case int64:
		return cborInt(vv)
	case json.Number:
		if i, err := vv.Int64(); err == nil {
			return cborInt(i)
		}
		f, _ := vv.Float64()
		return cbor.Float64(f)
	case time.Time:
		return &cbor.Tag{ID: 1, Value: cbor.Float64(float64(vv.UnixMilli()) / 1000)}
	case *time.Time:
		if vv == nil {
			return &cbor.Nil{}
		}
		return toCBOR(*vv)
	case []byte:
		return cbor.Slice(vv)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		l := make(cbor.List, rv.Len())
		for i := range l {
			l[i] = toCBOR(rv.Index(i).Interface())
		}
		return l
	case reflect.Map:
		m := cbor.Map{}
		for _, k := range rv.MapKeys() {
			m[k.String()] = toCBOR(rv.MapIndex(k).Interface())
		}
		return m
	case reflect.Pointer:
		if rv.IsNil() {
			return &cbor.Nil{}
		}
		return toCBOR(rv.Elem().Interface())
	}
	// Structs: go through JSON so json tags name the members.
	b, err := json.Marshal(v)
	if err != nil {
		return &cbor.Nil{}
	}
	var generic any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	_ = d.Decode(&generic)
	return toCBOR(generic)
}

func cborInt(i int64) cbor.Value {
	if i < 0 {
		return cbor.NegInt(uint64(-i))
	}
	return cbor.Uint(uint64(i))
}

// jsonTimes rewrites time.Time values inside plain maps and slices as epoch
// seconds, the JSON 1.1 timestamp format.
func jsonTimes(v any) any {
	switch vv := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(vv))
		for k, e := range vv {
			m[k] = jsonTimes(e)
		}
		return m
	case []any:
		l := make([]any, len(vv))
		for i, e := range vv {
			l[i] = jsonTimes(e)
		}
		return l
	case time.Time:
		return math.Round(float64(vv.UnixMilli())) / 1000
	}
	return v
}

// Epoch is a helper for handlers: AWS JSON 1.1 timestamps are epoch seconds.
func Epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
