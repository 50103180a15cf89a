package profiles

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxVariants bounds the cartesian product of a matrix.
const maxVariants = 256

// Matrix is the profile's matrix: each Axis varies one key, and the variants are the cartesian
// product of the axes, the last axis varying fastest. In a file:
//
//	matrix:
//	  changefeed.kafka_sink_config.Flush.Frequency: [0s, 50ms, 500ms]
//	  kafka.consumer.fetch.wait.max.ms: [5, 500]
type Matrix []Axis

// Axis is one key of a matrix and the values it takes.
type Axis struct {
	// Path is the dotted key path, e.g. changefeed.kafka_sink_config.Flush.Frequency; inside a
	// map (kafka.consumer, workload.mix) the rest of the path is the map key, dots included.
	Path string
	// Values are the values as written (after ${VAR} expansion), for labels. An Axis built in
	// code sets Path and Values only; each value is then read as a YAML scalar.
	Values []string

	nodes []*yaml.Node // the values, expanded, decoded onto each variant
	pos   pos
}

// Setting is one key set by a variant.
type Setting struct {
	Path  string // dotted key path
	Value string // as written in the matrix
}

// Variant is one point of a profile's matrix.
type Variant struct {
	// Label names the variant in results and comparisons, e.g. "Flush.Frequency=50ms", or
	// "Flush.Frequency=50ms,fetch.wait.max.ms=5" for several axes; "" for a profile without
	// matrix.
	Label string
	// Settings are the keys the variant sets, in matrix order.
	Settings []Setting
	// Repetition is the 1-based repetition number set by Interleave; 0 otherwise.
	Repetition int
	// Profile is the effective profile of the variant (matrix removed). Shared between the
	// repetitions Interleave returns: treat it as read-only.
	Profile *Profile
}

// matrix decodes the matrix mapping, overlaying m axis by axis.
func (d *decoder) matrix(n *yaml.Node, m *Matrix, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping of dotted key path to a list of values, e.g. changefeed.kafka_sink_config.Flush.Frequency: [0s, 50ms], got %s", describe(n, n.Value))
		return
	}
	out := append(Matrix(nil), *m...)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := d.resolve(n.Content[i]), d.resolve(n.Content[i+1])
		if kn.Kind != yaml.ScalarNode || kn.Value == "" {
			d.errorf(kn, path, "want a dotted key path such as changefeed.kafka_sink_config.Flush.Frequency, got %s", describe(kn, kn.Value))
			continue
		}
		p := kn.Value
		if vn.Kind != yaml.SequenceNode || len(vn.Content) == 0 {
			d.errorf(vn, "matrix."+p, "want a non-empty list of values, e.g. [0s, 50ms, 500ms], got %s", describe(vn, vn.Value))
			continue
		}
		ax := Axis{Path: p, pos: pos{d.file, kn.Line}}
		for _, el := range vn.Content {
			c, ok := d.expandNode(el, "matrix."+p, 0)
			if !ok {
				continue
			}
			ax.nodes = append(ax.nodes, c)
			ax.Values = append(ax.Values, nodeText(c))
		}
		replaced := false
		for j := range out {
			if out[j].Path == p {
				out[j], replaced = ax, true
			}
		}
		if !replaced {
			out = append(out, ax)
		}
	}
	*m = out
}

// expandNode returns a copy of n (aliases resolved) with ${VAR} expanded in its scalars.
func (d *decoder) expandNode(n *yaml.Node, path string, depth int) (*yaml.Node, bool) {
	n = d.resolve(n)
	if depth > 4 || d.tooLarge {
		d.errorf(n, path, "a matrix value nests too deep; want scalars or lists of scalars")
		return nil, false
	}
	c := *n
	c.Content = nil
	c.Anchor = ""
	switch n.Kind {
	case yaml.ScalarNode:
		if d.getenv != nil {
			v, err := expand(n.Value, d.getenv)
			if err != nil {
				d.errorf(n, path, "%s", unsetMessage(err, d.unset))
				return nil, false
			}
			if v != n.Value {
				c.Value, c.Tag, c.Style = v, "", 0 // let the field decide what the text means
			}
		}
	case yaml.SequenceNode, yaml.MappingNode:
		for _, e := range n.Content {
			ec, ok := d.expandNode(e, path, depth+1)
			if !ok {
				return nil, false
			}
			c.Content = append(c.Content, ec)
		}
	default:
		d.errorf(n, path, "want a value, got %s", describe(n, ""))
		return nil, false
	}
	return &c, true
}

// nodeText renders a matrix value for labels: a scalar as written, a list as [a,b].
func nodeText(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return n.Value
	case yaml.SequenceNode:
		parts := make([]string, len(n.Content))
		for i, e := range n.Content {
			parts[i] = nodeText(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	b, _ := yaml.Marshal(n)
	return strings.TrimSpace(string(b))
}

// notInMatrix are keys a matrix may not vary, and why.
var notInMatrix = map[string]string{
	"name":                               "a variant keeps its profile's name; the label tells variants apart",
	"extends":                            "extends is resolved before the matrix",
	"description":                        "the description does not change a run",
	"matrix":                             "a matrix cannot vary itself",
	"database.url_file":                  "secrets are read once, at load",
	"idp.client_secret_file":             "secrets are read once, at load",
	"idp.client_secret_env":              "secrets are read once, at load",
	"changefeed.sink.client_secret_file": "secrets are read once, at load",
	"changefeed.sink.client_secret_env":  "secrets are read once, at load",
}

// target is where a matrix path points in a profile.
type target struct {
	fieldPath []int // struct field indexes from Profile
	tag       reflect.StructTag
	mapKey    string // non-empty: the key inside the map field
	label     string // the path's short form for labels
}

// resolvePath checks a dotted key path against the schema.
func resolvePath(keyPath string) (target, error) {
	if why, ok := notInMatrix[keyPath]; ok {
		return target{}, fmt.Errorf("%s cannot be varied: %s", keyPath, why)
	}
	segs := strings.Split(keyPath, ".")
	t := reflect.TypeFor[Profile]()
	var tg target
	for i, seg := range segs {
		if t.Kind() != reflect.Struct || t == durationType {
			return target{}, fmt.Errorf("unknown key path '%s': %s is a single value, it has no key '%s'", keyPath, strings.Join(segs[:i], "."), seg)
		}
		fi, ok := fieldByKey(t, seg)
		if !ok {
			where := strings.Join(segs[:i], ".")
			if where == "" {
				where = "the profile"
			}
			msg := fmt.Sprintf("unknown key path '%s': no key '%s' in %s (allowed: %s)", keyPath, seg, where, strings.Join(structKeys(t), ", "))
			if s := closest(seg, structKeys(t)); s != "" {
				msg += "; did you mean '" + s + "'?"
			}
			return target{}, fmt.Errorf("%s", msg)
		}
		f := t.Field(fi)
		tg.fieldPath = append(tg.fieldPath, fi)
		tg.tag = f.Tag
		if p := strings.Join(segs[:i+1], "."); notInMatrix[p] != "" {
			return target{}, fmt.Errorf("%s cannot be varied: %s", keyPath, notInMatrix[p])
		}
		t = f.Type
		if t.Kind() == reflect.Map {
			if i == len(segs)-1 {
				return target{}, fmt.Errorf("%s is a map: vary one key of it, e.g. %s.<key>", keyPath, keyPath)
			}
			tg.mapKey = strings.Join(segs[i+1:], ".")
			tg.label = tg.mapKey
			return tg, nil
		}
	}
	if t.Kind() == reflect.Struct && t != durationType {
		return target{}, fmt.Errorf("%s is a section: vary one of its keys (%s)", keyPath, strings.Join(structKeys(t), ", "))
	}
	if rest, ok := strings.CutPrefix(keyPath, "changefeed.kafka_sink_config."); ok {
		tg.label = rest // Flush.Frequency, RequiredAcks: as CockroachDB's docs name them
	} else if n := len(segs); n >= 2 {
		tg.label = segs[n-2] + "." + segs[n-1]
	} else {
		tg.label = segs[0]
	}
	return tg, nil
}

// apply decodes value node n onto the target in p, recording errors in d.
func (tg target) apply(d *decoder, p *Profile, keyPath string, n *yaml.Node) {
	v := reflect.ValueOf(p).Elem()
	for _, fi := range tg.fieldPath {
		v = v.Field(fi)
	}
	if tg.mapKey == "" {
		d.decode(n, v, keyPath, tg.tag)
		return
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line,
		Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!str", Value: tg.mapKey, Line: n.Line}, n}}
	parent := keyPath[:len(keyPath)-len(tg.mapKey)-1]
	d.decode(m, v, parent, tg.tag)
}

// Variants expands the matrix into one Variant per point of the cartesian product of its axes,
// the last axis varying fastest; each variant's Profile is a validated copy with the matrix
// removed. Without a matrix it returns one variant, with an empty label, holding a copy of p.
// Errors name the matrix line: an unknown key path (with the keys allowed there), a value that
// does not fit the key, a variant that breaks a rule.
func (p *Profile) Variants() ([]Variant, error) {
	if len(p.Matrix) == 0 {
		c := p.Clone()
		return []Variant{{Profile: c}}, nil
	}
	var errs []error
	targets := make([]target, len(p.Matrix))
	total := 1
	axes := make(Matrix, len(p.Matrix)) // p is not modified: it may be shared
	copy(axes, p.Matrix)
	for i, ax := range axes {
		if ax.nodes == nil {
			// An axis built in code: its values are YAML scalars.
			nodes := make([]*yaml.Node, len(ax.Values))
			for j, v := range ax.Values {
				nodes[j] = &yaml.Node{Kind: yaml.ScalarNode, Value: v}
			}
			axes[i].nodes, ax.nodes = nodes, nodes
		}
		tg, err := resolvePath(ax.Path)
		if err != nil {
			errs = append(errs, &Error{File: ax.pos.file, Line: ax.pos.line, Path: "matrix", Msg: err.Error()})
			continue
		}
		targets[i] = tg
		total *= len(ax.nodes)
		if total > maxVariants {
			errs = append(errs, &Error{File: ax.pos.file, Line: ax.pos.line, Path: "matrix",
				Msg: fmt.Sprintf("more than %d variants; vary fewer keys or fewer values", maxVariants)})
			return nil, joinErrors(errs)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	if total == 0 {
		return nil, &Error{File: p.Source, Path: "matrix", Msg: "an axis has no usable values"}
	}
	// Type-check every value once, on a scratch copy, so each bad value is reported once.
	for i, ax := range axes {
		for _, n := range ax.nodes {
			d := newDecoder(ax.pos.file, nil)
			tg := targets[i]
			tg.apply(d, p.Clone(), ax.Path, n)
			errs = append(errs, d.errs...)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	idx := make([]int, len(axes))
	var out []Variant
	for {
		v := Variant{Profile: p.Clone()}
		v.Profile.Matrix = nil
		labels := make([]string, len(idx))
		for i, j := range idx {
			ax := axes[i]
			d := newDecoder(ax.pos.file, nil)
			targets[i].apply(d, v.Profile, ax.Path, ax.nodes[j])
			for k, ps := range d.pos {
				v.Profile.pos[k] = ps
			}
			v.Settings = append(v.Settings, Setting{Path: ax.Path, Value: ax.Values[j]})
			labels[i] = targets[i].label + "=" + ax.Values[j]
		}
		v.Label = strings.Join(labels, ",")
		if err := v.Profile.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("matrix variant %s: %w", v.Label, err))
		}
		out = append(out, v)
		// Next point: the last axis varies fastest.
		k := len(idx) - 1
		for ; k >= 0; k-- {
			idx[k]++
			if idx[k] < len(axes[k].nodes) {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			break
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

// Interleave returns the order cfbench run --matrix runs variants in: every variant once, then
// every variant again, repetitions times (A B C A B C …), so slow drift in the environment
// spreads over all variants rather than favouring one. Each returned Variant has Repetition set
// (1-based) and shares its Profile with the input. repetitions < 1 is taken as 1.
func Interleave(variants []Variant, repetitions int) []Variant {
	repetitions = max(repetitions, 1)
	out := make([]Variant, 0, len(variants)*repetitions)
	for r := 1; r <= repetitions; r++ {
		for _, v := range variants {
			v.Repetition = r
			out = append(out, v)
		}
	}
	return out
}

// Clone returns a deep copy of p: changing the copy's lists and maps leaves p unchanged.
func (p *Profile) Clone() *Profile {
	c := new(Profile)
	deepCopy(reflect.ValueOf(c).Elem(), reflect.ValueOf(p).Elem())
	c.pos = make(map[string]pos, len(p.pos))
	for k, v := range p.pos {
		c.pos[k] = v
	}
	return c
}

// deepCopy copies src to dst (same type, dst settable), duplicating slices and maps of exported
// fields. Unexported fields are copied as values (they hold no shared mutable state except
// Profile.pos, which Clone copies itself).
func deepCopy(dst, src reflect.Value) {
	dst.Set(src)
	switch src.Kind() {
	case reflect.Struct:
		for i := range src.NumField() {
			if src.Type().Field(i).IsExported() {
				deepCopy(dst.Field(i), src.Field(i))
			}
		}
	case reflect.Slice:
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(src.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			deepCopy(s.Index(i), src.Index(i))
		}
		dst.Set(s)
	case reflect.Map:
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(src.Type(), src.Len())
		iter := src.MapRange()
		for iter.Next() {
			m.SetMapIndex(iter.Key(), iter.Value()) // values are scalars
		}
		dst.Set(m)
	}
}
