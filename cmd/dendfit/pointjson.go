package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
)

// appendPointJSON appends p as printJSON writes it at an indent of four
// spaces, byte for byte (TestPointJSONMatchesEncodingJSON), without its
// reflection: query points --json of a million points spent most of its
// 15 s there.
func appendPointJSON(b []byte, p *pointJSON) ([]byte, error) {
	const in1, in2 = "\n      ", "\n        " // prefix and one or two indents
	var err error
	field := func(name string) { b = append(b, in1...); b = appendJSONText(b, name); b = append(b, ": "...) }
	str := func(name, v string) { field(name); b = appendJSONText(b, v); b = append(b, ',') }
	num := func(name string, v *float64) {
		field(name)
		if v == nil {
			b = append(b, "null"...)
		} else if b, err = appendJSONNumber(b, *v, err); err != nil {
			return
		}
		b = append(b, ',')
	}
	b = append(b, '{')
	field("pathway")
	b = strconv.AppendInt(b, int64(p.Pathway), 10)
	b = append(b, ',')
	str("pre", p.Pre)
	str("post", p.Post)
	str("compartment", p.Compartment)
	str("record", p.Record)
	str("tag", p.Tag)
	str("point_key", p.Key)
	field("receptors")
	b = appendJSONList(b, p.Receptors, in1, in2, appendJSONText)
	b = append(b, ',')
	field("g_nS")
	b = appendJSONList(b, p.GNS, in1, in2, func(b []byte, g float64) []byte {
		b, err = appendJSONNumber(b, g, err)
		return b
	})
	b = append(b, ',')
	num("t_decay_ms", p.TDecayMS)
	num("t_rise_ms", p.TRiseMS)
	num("psp_mV", p.PSPMV)
	num("baseline_mV", p.BaselineMV)
	num("time_to_peak_ms", p.TimeToPeakMS)
	num("rise_10_90_ms", p.Rise1090MS)
	num("half_width_ms", p.HalfWidthMS)
	field("peaks_mV")
	switch {
	case p.PeaksMV == nil:
		b = append(b, "null"...)
	case len(p.PeaksMV) == 0:
		b = append(b, "{}"...)
	default:
		b = append(b, '{')
		for i, k := range slices.Sorted(maps.Keys(p.PeaksMV)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, in2...)
			b = appendJSONText(b, k)
			b = append(b, ": "...)
			b, err = appendJSONNumber(b, p.PeaksMV[k], err)
		}
		b = append(b, in1...)
		b = append(b, '}')
	}
	b = append(b, ',')
	num("i_hold_pA", p.IHoldPA)
	field("dspike_fired")
	b = strconv.AppendBool(b, p.DSpikeFired)
	b = append(b, ',')
	field("status")
	b = appendJSONText(b, p.Status)
	if p.Error != "" {
		b = append(b, ',')
		field("error")
		b = appendJSONText(b, p.Error)
	}
	b = append(b, "\n    }"...)
	return b, err
}

// appendJSONList appends xs as encoding/json indents a slice: null for
// nil, [] for empty, else an element a line at indent in2, closed at in1.
func appendJSONList[T any](b []byte, xs []T, in1, in2 string, elem func([]byte, T) []byte) []byte {
	switch {
	case xs == nil:
		return append(b, "null"...)
	case len(xs) == 0:
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, in2...)
		b = elem(b, x)
	}
	b = append(b, in1...)
	return append(b, ']')
}

// appendJSONNumber appends v as encoding/json writes a float64: the
// shortest decimal that round-trips, in exponent form below 1e-6 and from
// 1e21, with a one-digit negative exponent unpadded. Like encoding/json it
// refuses NaN and infinities; an earlier error is kept.
func appendJSONNumber(b []byte, v float64, err error) ([]byte, error) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if err == nil {
			err = fmt.Errorf("json: unsupported value: %s", strconv.FormatFloat(v, 'g', -1, 64))
		}
		return b, err
	}
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, v, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, err
}

// appendJSONText appends s as a JSON string, as printJSON writes it: plain
// printable ASCII as is, anything else through encoding/json itself (its
// escapes of control characters, U+2028 and bad UTF-8).
func appendJSONText(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			var q bytes.Buffer
			enc := json.NewEncoder(&q)
			enc.SetEscapeHTML(false)
			enc.Encode(s) // a string always encodes
			return append(b, bytes.TrimSuffix(q.Bytes(), []byte("\n"))...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// printJSON writes v to w as every --json output is written: indented by
// two spaces, and with <, > and & as they are (labels are pre->post;
// encoding/json's HTML escapes made them pre-\u003epost).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
