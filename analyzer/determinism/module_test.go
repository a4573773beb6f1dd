package determinism_test

import (
	"reflect"
	"testing"

	"github.com/duroxide-go/duroxide"
	"github.com/duroxide-go/duroxide/analyzer/determinism"
	"github.com/duroxide-go/duroxide/yield"
)

// The analyzer recognises duroxide's names by import path and position; this keeps them
// in step with the real module (the testdata uses stubs of it).
func TestNamesMatchTheModule(t *testing.T) {
	ctxType := reflect.TypeFor[*yield.Ctx]()
	if got := ctxType.Elem().PkgPath(); got != determinism.YieldPath {
		t.Errorf("yield.Ctx lives in %q, the analyzer looks in %q", got, determinism.YieldPath)
	}
	if got := reflect.TypeFor[duroxide.Runtime]().PkgPath(); got != determinism.RootPath {
		t.Errorf("duroxide.Runtime lives in %q, the analyzer looks in %q", got, determinism.RootPath)
	}
	rt := reflect.TypeFor[*duroxide.Runtime]()
	// The function argument's index among the call's arguments, as the analyzer expects it.
	regs := []struct {
		name string
		fn   reflect.Type
		arg  int
	}{
		{"RegisterOrchestration", methodType(t, rt, "RegisterOrchestration"), 1},
		{"RegisterOrchestrationVersioned", methodType(t, rt, "RegisterOrchestrationVersioned"), 2},
		{"RegisterOrchestrationTyped", reflect.TypeOf(duroxide.RegisterOrchestrationTyped[int, int]), 2},
		{"RegisterOrchestrationVersionedTyped", reflect.TypeOf(duroxide.RegisterOrchestrationVersionedTyped[int, int]), 3},
	}
	for _, r := range regs {
		if r.fn == nil {
			continue
		}
		if r.fn.NumIn() <= r.arg {
			t.Errorf("%s takes %d arguments, the analyzer reads argument %d", r.name, r.fn.NumIn(), r.arg)
			continue
		}
		fn := r.fn.In(r.arg)
		if fn.Kind() != reflect.Func || fn.NumIn() == 0 || fn.In(0) != ctxType {
			t.Errorf("%s argument %d is %v, not a function taking *yield.Ctx first", r.name, r.arg, fn)
		}
	}
	block, _ := ctxType.MethodByName("Block")
	if fn := block.Type.In(1); fn.In(0) != ctxType {
		t.Errorf("ctx.Block takes %v, not a function taking *yield.Ctx first", fn)
	}
}

// methodType is the method's type without its receiver.
func methodType(t *testing.T, typ reflect.Type, name string) reflect.Type {
	t.Helper()
	m, ok := typ.MethodByName(name)
	if !ok {
		t.Errorf("%v has no method %s", typ, name)
		return nil
	}
	in := make([]reflect.Type, 0, m.Type.NumIn()-1)
	for i := 1; i < m.Type.NumIn(); i++ {
		in = append(in, m.Type.In(i))
	}
	out := make([]reflect.Type, 0, m.Type.NumOut())
	for i := range m.Type.NumOut() {
		out = append(out, m.Type.Out(i))
	}
	return reflect.FuncOf(in, out, false)
}
