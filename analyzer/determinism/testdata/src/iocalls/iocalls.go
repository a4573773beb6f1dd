package iocalls

import (
	"bytes"
	"errors"
	"io"
	"io/ioutil"
	"net"
	"net/http"
	"os"
	"strings"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/yield"
)

func Orch(ctx *yield.Ctx, in yield.Value) (any, error) {
	_ = os.Getenv("HOME")             // want `os.Getenv does I/O, whose result can differ on replay: do it in an activity \(ctx.ScheduleActivity\)`
	data, err := os.ReadFile("x")     // want `os.ReadFile does I/O`
	f, _ := os.Create("y")            // want `os.Create does I/O`
	_, _ = f.Write(data)              // want `\(\*os.File\).Write does I/O`
	_, _ = http.Get("http://x")       // want `http.Get does I/O`
	_, _ = http.DefaultClient.Do(nil) // want `\(\*http.Client\).Do does I/O`
	_, _ = net.Dial("tcp", "x:1")     // want `net.Dial does I/O`
	_, _ = ioutil.ReadFile("z")       // want `ioutil.ReadFile does I/O`
	var r io.Reader = strings.NewReader("s")
	_, _ = io.ReadAll(r) // want `io.ReadAll does I/O`
	_, _ = r.Read(data)  // want `io.Reader.Read does I/O`
	var w io.Writer = &bytes.Buffer{}
	_, _ = w.Write(data) // want `io.Writer.Write does I/O`
	_ = io.NopCloser(r)  // pure wrappers are fine
	var buf bytes.Buffer
	_, _ = buf.Write(data)             // in-memory buffers are fine
	_ = errors.Is(err, os.ErrNotExist) // fine: no call into os
	_ = os.IsNotExist(err)             // fine: a pure helper
	_ = net.ParseIP("127.0.0.1")       // fine: a pure helper
	_ = http.StatusText(200)           // fine: a pure helper
	return ctx.Yield(ctx.ScheduleActivity("ReadConfig", nil))
}

// Activities do the I/O.
func ReadConfig(ctx *duroxide.ActivityContext, in yield.Value) (any, error) {
	return os.ReadFile(os.Getenv("CONFIG"))
}
