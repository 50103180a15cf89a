package profiles

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Note: yaml.v3's own Decoder.KnownFields(true) rejects unknown keys too, but its messages
// ("line 7: field brokerz not found in type profiles.Kafka") name Go types, not what the user
// may write, and it stops at the first error. decoder walks the yaml.Node tree against the
// struct instead, so each error names the file, line, dotted key path and the allowed values.

// pos is where a value was set: the file as the user named it and the line.
type pos struct {
	file string
	line int
}

// maxNodes bounds the nodes one file may expand to, aliases included (a "billion laughs"
// document would otherwise take exponential time).
const maxNodes = 100_000

var (
	durationType = reflect.TypeFor[time.Duration]()
	matrixType   = reflect.TypeFor[Matrix]()
)

// decoder decodes one YAML document onto a Profile, collecting every error.
type decoder struct {
	file     string              // as the user named it, for errors
	getenv   func(string) string // nil: values are not expanded (already expanded)
	errs     []error
	pos      map[string]pos
	nodes    int
	tooLarge bool
	unset    map[string]bool // unset variables already reported, shared by the files of a load
}

func newDecoder(file string, getenv func(string) string) *decoder {
	return &decoder{file: file, getenv: getenv, pos: map[string]pos{}}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and counts nodes.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	d.nodes++
	if d.nodes > maxNodes && !d.tooLarge {
		d.tooLarge = true
		d.errorf(n, "", "the profile expands to more than %d values (aliases?); simplify it", maxNodes)
	}
	return n
}

// isNull reports whether n is an explicit or implicit null ("key:" with no value, "~", "null").
func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe renders a node for "got …" in errors.
func describe(n *yaml.Node, val string) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing"
		}
		return strconv.Quote(val)
	}
	return "something else"
}

// scalar returns n's value with ${VAR} expanded, or ok=false after recording an error.
func (d *decoder) scalar(n *yaml.Node, path string, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "want %s, got %s", want, describe(n, ""))
		return "", false
	}
	if d.getenv == nil {
		return n.Value, true
	}
	v, err := expand(n.Value, d.getenv)
	if err != nil {
		d.errorf(n, path, "%s", unsetMessage(err, d.unset))
		return "", false
	}
	return v, true
}

// wantOf returns how a value of type t with tag is described in errors.
func wantOf(t reflect.Type, tag reflect.StructTag) string {
	if w := tag.Get("want"); w != "" {
		return w
	}
	if e := tag.Get("enum"); e != "" {
		return "one of " + describeEnum(e)
	}
	switch {
	case t == durationType:
		return "a duration such as 500ms, 10s or 1m"
	case t == matrixType:
		return "a mapping of dotted key path to a list of values"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(wantOf(t.Elem(), ""), "a ") + "s"
	case reflect.Struct:
		return "a mapping (keys: " + strings.Join(structKeys(t), ", ") + ")"
	case reflect.Map:
		return "a mapping"
	}
	return t.String()
}

// describeEnum renders "a|b|" as `a, b or "" (the default)`.
func describeEnum(e string) string {
	var parts []string
	empty := false
	for _, s := range strings.Split(e, "|") {
		if s == "" {
			empty = true
			continue
		}
		parts = append(parts, s)
	}
	out := strings.Join(parts, ", ")
	if empty {
		out += ` or "" (the default)`
	}
	return out
}

// structKeys returns the yaml keys of struct type t in field order.
func structKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if k := yamlKey(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// yamlKey returns a field's yaml key, or "" when the field is not in the file.
func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	k, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if k == "-" || k == "" {
		return ""
	}
	return k
}

// fieldByKey returns the index of the field of struct type t with yaml key k.
func fieldByKey(t reflect.Type, k string) (int, bool) {
	for i := range t.NumField() {
		if yamlKey(t.Field(i)) == k {
			return i, true
		}
	}
	return 0, false
}

func joinPath(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// inWhat names the mapping at path for "unknown key … in X".
func inWhat(path string) string {
	if path == "" {
		return "the profile"
	}
	return path
}

// decode decodes n onto v (settable), which is at dotted path; tag is v's struct tag.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string, tag reflect.StructTag) {
	n = d.resolve(n)
	if n == nil || d.tooLarge {
		return
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			d.decode(n.Content[0], v, path, tag)
		}
		return
	}
	if isNull(n) {
		// "key:" with no value keeps the default (or the inherited value).
		return
	}
	if path != "" {
		d.pos[path] = pos{d.file, n.Line}
	}
	t := v.Type()
	want := wantOf(t, tag)
	switch {
	case t == durationType:
		s, ok := d.scalar(n, path, want)
		if !ok {
			return
		}
		dur, err := parseDuration(s)
		if err != nil {
			d.errorf(n, path, "want %s, got %q (%v)", want, s, err)
			return
		}
		v.SetInt(int64(dur))
		return
	case t == matrixType:
		d.matrix(n, v.Addr().Interface().(*Matrix), path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		d.structure(n, v, path, want)
	case reflect.String:
		s, ok := d.scalar(n, path, want)
		if !ok {
			return
		}
		if e, has := tag.Lookup("enum"); has && !slices.Contains(strings.Split(e, "|"), s) {
			d.errorf(n, path, "want %s, got %q", want, s)
			return
		}
		v.SetString(s)
	case reflect.Bool:
		s, ok := d.scalar(n, path, want)
		if !ok {
			return
		}
		b, err := parseBool(s)
		if err != nil {
			d.errorf(n, path, "want %s, got %q", want, s)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		s, ok := d.scalar(n, path, want)
		if !ok {
			return
		}
		i, err := parseInt(s)
		if err != nil {
			d.errorf(n, path, "want %s, got %q", want, s)
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		s, ok := d.scalar(n, path, want)
		if !ok {
			return
		}
		f, err := parseFloat(s)
		if err != nil {
			d.errorf(n, path, "want %s, got %q", want, s)
			return
		}
		v.SetFloat(f)
	case reflect.Slice: // []string
		d.stringList(n, v, path, want, tag.Get("split"))
	case reflect.Map:
		d.mapping(n, v, path, want)
	default:
		panic(fmt.Sprintf("profiles: no decoder for %s at %s", t, path)) // programmer error
	}
}

// structure decodes a mapping onto struct v, rejecting unknown and repeated keys.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, path, want string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want %s, got %s", want, describe(n, n.Value))
		return
	}
	t := v.Type()
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := d.resolve(n.Content[i]), n.Content[i+1]
		if kn.Kind != yaml.ScalarNode {
			d.errorf(kn, path, "want a key (a string) in %s, got %s", inWhat(path), describe(kn, ""))
			continue
		}
		k := kn.Value
		if k == "<<" {
			d.errorf(kn, path, "merge keys (<<) are not supported; use extends: to inherit a profile")
			continue
		}
		fi, ok := fieldByKey(t, k)
		if !ok {
			allowed := structKeys(t)
			msg := fmt.Sprintf("unknown key '%s' in %s (allowed: %s)", k, inWhat(path), strings.Join(allowed, ", "))
			if s := closest(k, allowed); s != "" {
				msg += "; did you mean '" + s + "'?"
			}
			d.errorf(kn, "", "%s", msg)
			continue
		}
		if seen[k] {
			d.errorf(kn, "", "key '%s' appears twice in %s", k, inWhat(path))
			continue
		}
		seen[k] = true
		f := t.Field(fi)
		d.decode(vn, v.Field(fi), joinPath(path, k), f.Tag)
	}
}

// stringList decodes a list of scalars, or a single scalar, into []string; with sep each entry
// is also split on sep (so "a:1,b:2" from one environment variable becomes two brokers).
func (d *decoder) stringList(n *yaml.Node, v reflect.Value, path, want, sep string) {
	var items []*yaml.Node
	switch n.Kind {
	case yaml.SequenceNode:
		items = n.Content
	case yaml.ScalarNode:
		items = []*yaml.Node{n}
	default:
		d.errorf(n, path, "want %s, got %s", want, describe(n, ""))
		return
	}
	out := []string{}
	for i, it := range items {
		it = d.resolve(it)
		s, ok := d.scalar(it, fmt.Sprintf("%s[%d]", path, i), "a string")
		if !ok {
			continue
		}
		if sep == "" {
			out = append(out, s)
			continue
		}
		for _, part := range strings.Split(s, sep) {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	v.Set(reflect.ValueOf(out))
}

// mapping decodes a mapping into map[string]float64 or map[string]any (scalars only), overlaying
// the existing map key by key.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path, want string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want %s, got %s", want, describe(n, n.Value))
		return
	}
	t := v.Type()
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	} else {
		// Overlay onto a copy: the map may be shared with the profile this one extends.
		c := reflect.MakeMap(t)
		iter := v.MapRange()
		for iter.Next() {
			c.SetMapIndex(iter.Key(), iter.Value())
		}
		v.Set(c)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := d.resolve(n.Content[i]), d.resolve(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode || kn.Value == "" {
			d.errorf(kn, path, "want a non-empty key (a string) in %s, got %s", inWhat(path), describe(kn, kn.Value))
			continue
		}
		k := kn.Value
		p := joinPath(path, k)
		if seen[k] {
			d.errorf(kn, "", "key '%s' appears twice in %s", k, inWhat(path))
			continue
		}
		seen[k] = true
		d.pos[p] = pos{d.file, vn.Line}
		switch t.Elem().Kind() {
		case reflect.Float64:
			s, ok := d.scalar(vn, p, "a number")
			if !ok {
				continue
			}
			f, err := parseFloat(s)
			if err != nil {
				d.errorf(vn, p, "want a number, got %q", s)
				continue
			}
			v.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(f))
		case reflect.Interface:
			val, ok := d.anyScalar(vn, p)
			if !ok {
				continue
			}
			v.SetMapIndex(reflect.ValueOf(k), reflect.ValueOf(&val).Elem())
		default:
			panic(fmt.Sprintf("profiles: no decoder for %s at %s", t, path))
		}
	}
}

// anyScalar decodes a property value: a bool, an int64, a float64 or a string, by its YAML type.
// A value that came from ${VAR} stays a string (librdkafka parses strings for every property).
func (d *decoder) anyScalar(n *yaml.Node, path string) (any, bool) {
	const want = "a string, number or boolean"
	if isNull(n) {
		d.errorf(n, path, "want %s, got nothing", want)
		return nil, false
	}
	s, ok := d.scalar(n, path, want)
	if !ok {
		return nil, false
	}
	if s != n.Value || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		return s, true
	}
	switch n.Tag {
	case "!!bool":
		if b, err := parseBool(s); err == nil {
			return b, true
		}
	case "!!int":
		if i, err := parseInt(s); err == nil {
			return i, true
		}
	case "!!float":
		if f, err := parseFloat(s); err == nil {
			return f, true
		}
	}
	return s, true
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	dur, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("a unit is missing: ns, us, ms, s, m or h")
		}
		return 0, fmt.Errorf("not a duration")
	}
	if dur < 0 {
		return 0, fmt.Errorf("negative")
	}
	return dur, nil
}

func parseBool(s string) (bool, error) {
	switch s {
	case "true", "True", "TRUE":
		return true, nil
	case "false", "False", "FALSE":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean")
}

func parseInt(s string) (int64, error) {
	return strconv.ParseInt(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 0, 64)
}

func parseFloat(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a finite number")
	}
	return f, nil
}

// closest returns the allowed key nearest to k by edit distance, if it is close enough to be a
// likely typo.
func closest(k string, allowed []string) string {
	best, bestD := "", 3
	for _, a := range allowed {
		if dd := editDistance(strings.ToLower(k), strings.ToLower(a)); dd < bestD {
			best, bestD = a, dd
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
