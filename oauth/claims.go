package oauth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Claims are the claims of a JWT access token, decoded for display (cfbench doctor) and
// NOT verified: the signature is neither checked nor kept.
type Claims struct {
	Algorithm string    // header alg, e.g. RS256
	KeyID     string    // header kid
	Issuer    string    // iss
	Subject   string    // sub
	Audience  []string  // aud, a string or a list
	Scopes    []string  // scope (space-separated string or list), else scp (list or string)
	ClientID  string    // client_id, else cid (Okta)
	ID        string    // jti
	ExpiresAt time.Time // exp; zero if absent
	IssuedAt  time.Time // iat; zero if absent
	NotBefore time.Time // nbf; zero if absent
	// Raw holds every claim of the payload as decoded by encoding/json (numbers as
	// json.Number).
	Raw map[string]any
}

// Lifetime is ExpiresAt − IssuedAt, or 0 if either is absent.
func (c Claims) Lifetime() time.Duration {
	if c.ExpiresAt.IsZero() || c.IssuedAt.IsZero() {
		return 0
	}
	return c.ExpiresAt.Sub(c.IssuedAt)
}

// ParseClaims decodes the header and claims of a compact JWT (header.payload.signature)
// without verifying it. Errors describe the shape of token, never its content.
func ParseClaims(token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("JWT: %d parts separated by '.', want 3", len(parts))
	}
	var c Claims
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &hdr); err != nil {
		return Claims{}, fmt.Errorf("JWT header: %w", err)
	}
	c.Algorithm, c.KeyID = hdr.Alg, hdr.Kid
	if err := decodeSegment(parts[1], &c.Raw); err != nil {
		return Claims{}, fmt.Errorf("JWT claims: %w", err)
	}
	if c.Raw == nil {
		return Claims{}, errors.New("JWT claims: null, want a JSON object")
	}
	var errs []error
	str := func(name string) string {
		v, ok := c.Raw[name]
		if !ok {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			errs = append(errs, fmt.Errorf("claim %q: %s, want a string", name, jsonKind(v)))
		}
		return s
	}
	list := func(name string, split bool) []string {
		switch v := c.Raw[name].(type) {
		case nil:
			return nil
		case string:
			if split {
				return strings.Fields(v)
			}
			return []string{v}
		case []any:
			out := make([]string, 0, len(v))
			for _, e := range v {
				s, ok := e.(string)
				if !ok {
					errs = append(errs, fmt.Errorf("claim %q: a list holding %s, want strings", name, jsonKind(e)))
					return nil
				}
				out = append(out, s)
			}
			return out
		default:
			errs = append(errs, fmt.Errorf("claim %q: %s, want a string or a list of strings", name, jsonKind(v)))
			return nil
		}
	}
	date := func(name string) time.Time {
		v, ok := c.Raw[name]
		if !ok || v == nil {
			return time.Time{}
		}
		n, ok := v.(json.Number)
		if !ok {
			errs = append(errs, fmt.Errorf("claim %q: %s, want seconds since 1970", name, jsonKind(v)))
			return time.Time{}
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
			errs = append(errs, fmt.Errorf("claim %q: %s is not a plausible time in seconds since 1970", name, n))
			return time.Time{}
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	c.Issuer = str("iss")
	c.Subject = str("sub")
	c.ID = str("jti")
	c.Audience = list("aud", false)
	if _, ok := c.Raw["scope"]; ok {
		c.Scopes = list("scope", true)
	} else {
		c.Scopes = list("scp", true)
	}
	if _, ok := c.Raw["client_id"]; ok {
		c.ClientID = str("client_id")
	} else {
		c.ClientID = str("cid")
	}
	c.ExpiresAt = date("exp")
	c.IssuedAt = date("iat")
	c.NotBefore = date("nbf")
	if len(errs) > 0 {
		return Claims{}, fmt.Errorf("JWT claims: %w", errors.Join(errs...))
	}
	return c, nil
}

// decodeSegment decodes one base64url segment of a JWT (padding tolerated) as JSON into v.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return errors.New("not base64url")
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return errors.New("not a JSON object")
	}
	if d.More() {
		return errors.New("data after the JSON object")
	}
	return nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
