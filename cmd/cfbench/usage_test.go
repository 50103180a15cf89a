package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// checkUsageError runs cfbench with args and checks it fails as bad usage (exit 2) with an
// error that says want, and that secret appears nowhere in the error or the output.
func checkUsageError(t *testing.T, args []string, want, secret string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), args, &out, &errb)
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage {
		t.Errorf("%v: got %v, want a usage error", args, err)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%v: error %q does not say %q", args, err, want)
	}
	if strings.Contains(err.Error()+out.String()+errb.String(), secret) {
		t.Errorf("%v: the secret leaked: %q", args, err)
	}
}
