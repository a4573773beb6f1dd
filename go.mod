module github.com/duroxide-go/duroxide

go 1.26

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/mattn/go-sqlite3 v1.14.53 // indirect
)
