package consume

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseStartOffsets(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{in: "vehicles:0=1200", want: "map[vehicles:map[0:1200]]"},
		{in: "vehicles:0=1, vehicles:1=2,users:3=0", want: "map[users:map[3:0] vehicles:map[0:1 1:2]]"},
		{in: "vehicles=5", err: "want topic:partition=offset"},
		{in: "vehicles:x=5", err: `partition "x" is not a number`},
		{in: "vehicles:0=-1", err: `offset "-1" is not a number`},
		{in: "vehicles:0=1,vehicles:0=2", err: "given twice"},
		{in: "", err: "want topic:partition=offset"},
	}
	for _, tt := range tests {
		got, err := ParseStartOffsets(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseStartOffsets(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != tt.want {
			t.Errorf("ParseStartOffsets(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}
