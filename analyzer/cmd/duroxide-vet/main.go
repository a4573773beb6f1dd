// Command duroxide-vet checks duroxide orchestrations for nondeterministic code. It is a
// go vet tool:
//
//	cd analyzer && go install ./cmd/duroxide-vet   # from a checkout of duroxide
//	go vet -vettool=$(which duroxide-vet) ./...
//
// See package github.com/duroxide-go/duroxide/analyzer/determinism for the rules.
package main

import (
	"golang.org/x/tools/go/analysis/unitchecker"

	"github.com/duroxide-go/duroxide/analyzer/determinism"
)

func main() { unitchecker.Main(determinism.Analyzer) }
